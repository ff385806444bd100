"""A Korean search language for Sphinx's HTML search.

Sphinx 7 ships no Korean search language: it indexes whole space-separated words, and a
Korean word carries its particle (조사), so ``드롭아웃은`` and ``드롭아웃을`` are different
words and a search for ``드롭아웃`` or ``시드`` misses them. This language strips the
particle from Hangul words, in the index (Python) and in the reader's query (JavaScript),
with the same rule; Latin words are stemmed as in the English search.
"""

import re

import snowballstemmer
from sphinx.search import SearchLanguage
from sphinx.search.en import english_stopwords, js_porter_stemmer

# Particles and particle pairs, longest first, so that "에서는" is not read as "는".
PARTICLES = sorted("""
    에서는 에서도 으로는 으로도 에게서 까지는 부터는 이라는 이라고 만으로 에서의 으로의
    에서 에게 으로 까지 부터 처럼 보다 마다 이나 이란 라는 라고 와는 과는 와의 과의 에는 에도
    로는 로도 만큼 조차 밖에 이며 이고 이다 입니다
    은 는 이 가 을 를 의 에 와 과 도 로 만 나 란 며 고
""".split(), key=len, reverse=True)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def strip_particle(word):
    """The word without its trailing particle (a word that is only a particle stays)."""
    for particle in PARTICLES:
        if word.endswith(particle) and len(word) > len(particle):
            return word[: -len(particle)]
    return word


# The same rule for the reader's query, around Sphinx's own Porter stemmer for Latin words.
JS_STEMMER = js_porter_stemmer.replace("var Stemmer = function", "var PorterStemmer = function", 1) + """
var Stemmer = function() {
  var porter = new PorterStemmer();
  var particles = %s;
  this.stemWord = function(w) {
    if (!/[\\uac00-\\ud7a3]/.test(w)) return porter.stemWord(w);
    for (var i = 0; i < particles.length; i++) {
      var p = particles[i];
      if (w.endsWith(p) && w.length > p.length) return w.slice(0, -p.length);
    }
    return w;
  };
};
""" % ("[" + ", ".join(f'"{p}"' for p in PARTICLES) + "]")


class SearchKorean(SearchLanguage):
    lang = "ko"
    language_name = "Korean"
    js_stemmer_code = JS_STEMMER
    stopwords = english_stopwords

    def init(self, options):
        self.porter = snowballstemmer.stemmer("porter")

    def stem(self, word):
        if HANGUL.search(word):
            return strip_particle(word)
        return self.porter.stemWord(word.lower())


def setup(app):
    app.add_search_language(SearchKorean)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
