"""The metric selectors of a PromQL expression, and the metric names hpa exposes.

Not a whole PromQL parser: enough of its grammar to tell a metric name from a function, an
aggregation, a keyword or a label name, and to refuse what it does not know (an unknown
function, an unbalanced bracket, a Grafana variable outside a string), so that a query cannot
name a metric the check overlooks.
"""

import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import Final

from prometheus_client.metrics_core import Metric


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FUNCTIONS: Final = _words(
    """
    abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
    clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year
    days_in_month deg delta deriv double_exponential_smoothing exp floor histogram_avg
    histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar
    histogram_sum holt_winters hour idelta increase irate label_join label_replace
    last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin
    sinh sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time
    sum_over_time tan tanh time timestamp vector year
    """
)
AGGREGATIONS: Final = _words(
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk "
    "limit_ratio"
)
#: Keywords followed by a list of label names in parentheses.
GROUPING: Final = frozenset(("by", "without", "on", "ignoring", "group_left", "group_right"))
KEYWORDS: Final = frozenset(("bool", "and", "or", "unless", "offset", "atan2"))

#: Grafana's interval variables, which stand where a duration does.
_GRAFANA_DURATIONS: Final = re.compile(r"\$(__rate_interval|__interval|__range)\b|\$\{__\w+\}")

_TOKEN: Final = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    | (?P<range>\[[^\[\]]*\])
    | (?P<number>(?:\d+(?:ms|[smhdwy]))+|0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    | (?P<op>==|!=|<=|>=|=~|!~|[-+*/%^<>=(){},@])
    """,
    re.VERBOSE,
)
_CLOSING: Final = {"(": ")", "{": "}"}


@dataclasses.dataclass(frozen=True)
class Selector:
    """One metric selector: ``name{label op "value", ...}``."""

    name: str
    matchers: tuple[tuple[str, str, str], ...] = ()

    def matcher(self, label: str) -> tuple[str, str] | None:
        """The operator and value this selector matches ``label`` with, if it does."""
        return next(((op, value) for name, op, value in self.matchers if name == label), None)


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(expr: str) -> list[_Token]:
    expr = _GRAFANA_DURATIONS.sub("5m", expr)
    tokens = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read {expr[position : position + 20]!r} in {expr!r}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
    return tokens


def _unquote(text: str) -> str:
    return text[1:-1].encode().decode("unicode_escape") if text[0] != "`" else text[1:-1]


def _matchers(tokens: list[_Token], start: int) -> tuple[tuple[tuple[str, str, str], ...], int]:
    """The matchers of the ``{...}`` opening at ``start``, and the index after its ``}``."""
    matchers = []
    index = start + 1
    while tokens[index].text != "}":
        label, op, value = tokens[index : index + 3]
        if label.kind not in ("ident", "string") or op.text not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"bad matcher near {label.text!r}")
        if value.kind != "string":
            raise ValueError(f"the value of {label.text} is not a string")
        name = label.text if label.kind == "ident" else _unquote(label.text)
        matchers.append((name, op.text, _unquote(value.text)))
        index += 3
        if tokens[index].text == ",":
            index += 1
    return tuple(matchers), index + 1


def _check_brackets(tokens: list[_Token], expr: str) -> None:
    open_: list[str] = []
    for token in tokens:
        if token.text in _CLOSING:
            open_.append(_CLOSING[token.text])
        elif token.text in (")", "}") and (not open_ or open_.pop() != token.text):
            raise ValueError(f"unbalanced {token.text!r} in {expr!r}")
    if open_:
        raise ValueError(f"{open_[-1]!r} missing in {expr!r}")


def selectors(expr: str) -> list[Selector]:
    """Every metric selector of ``expr``.

    Raises:
        ValueError: ``expr`` uses a function this module does not know, or is malformed.
    """
    tokens = _tokens(expr)
    _check_brackets(tokens, expr)
    found = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if token.text == "{":  # a selector without a name: {__name__="..."}
            matchers, index = _matchers(tokens, index)
            names = [value for label, op, value in matchers if label == "__name__" and op == "="]
            if not names:
                raise ValueError(f"a selector names no metric in {expr!r}")
            found.append(Selector(names[0], matchers))
            continue
        index += 1
        if token.kind != "ident":
            continue
        word = token.text
        if word in GROUPING:
            if following == "(":
                index = next(i for i in range(index, len(tokens)) if tokens[i].text == ")") + 1
            continue
        if word in KEYWORDS:
            continue
        if word in AGGREGATIONS:
            if following not in ("(", "by", "without"):
                raise ValueError(f"{word} without its argument in {expr!r}")
            continue
        if following == "(":
            if word not in FUNCTIONS:
                raise ValueError(f"unknown function {word}() in {expr!r}")
            continue
        matchers = ()
        if following == "{":
            matchers, index = _matchers(tokens, index)
        found.append(Selector(word, matchers))
    return found


_LABEL_VALUES: Final = re.compile(r"^\s*label_values\(\s*(?P<query>.*?)\s*,\s*\w+\s*\)\s*$")


def variable_selectors(query: str) -> list[Selector]:
    """The selectors of a Grafana Prometheus variable query (``label_values(expr, label)``,
    ``query_result(expr)`` or ``metrics(regex)``, which names none)."""
    if query.startswith("metrics("):
        return []
    match = _LABEL_VALUES.match(query)
    if match:
        return selectors(match["query"])
    if query.startswith("query_result(") and query.endswith(")"):
        return selectors(query[len("query_result(") : -1])
    raise ValueError(f"not a variable query hpa's check reads: {query!r}")


def exposed_names(families: Iterable[Metric]) -> set[str]:
    """The names of the samples metric families expose (``_total`` of a counter, ``_bucket``,
    ``_sum`` and ``_count`` of a histogram, ...), whether or not any sample exists yet."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    return {
        family.name + suffix for family in families for suffix in suffixes.get(family.type, ("",))
    }


def unknown_metrics(exprs: Iterable[str], exposed: set[str]) -> Iterator[tuple[str, str]]:
    """``(expr, name)`` for every metric name an expression uses that is not exposed."""
    for expr in exprs:
        for selector in selectors(expr):
            if selector.name not in exposed:
                yield expr, selector.name
