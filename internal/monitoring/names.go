package monitoring

import (
	"errors"
	"fmt"
	"slices"
)

// ErrSyntax means an expression's strings, braces, brackets or parentheses
// do not close.
var ErrSyntax = errors.New("monitoring: promql syntax")

// aggregations are PromQL's aggregation operators, which may be followed
// by a by/without clause before their parenthesis.
var aggregations = []string{
	"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk",
	"quantile", "count_values", "group", "limitk", "limit_ratio",
}

// grouping keywords take a parenthesised list of label names.
var grouping = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}

// keywords are PromQL's other words that are not metric names.
var keywords = []string{"and", "or", "unless", "bool", "offset", "inf", "nan"}

// metricNames returns the metric names expr selects, in order of first
// appearance, each once: the identifiers that are not functions,
// aggregations, keywords, label names (in matchers and grouping lists) or
// Grafana variables ($x, ${x}, inside a range or a matcher too). It reads
// the PromQL our dashboards and alerts use; a name given only as
// {__name__="x"} is not found.
func metricNames(expr string) ([]string, error) {
	var names []string
	s := expr
	i, depth := 0, 0 // depth: of the parentheses open at i
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(s, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '{':
			end, err := skipGroup(s, i, '{', '}')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '[':
			end, err := skipGroup(s, i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '(':
			depth++
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("%w: unbalanced ')' at %d in %q", ErrSyntax, i, expr)
			}
			i++
		case c == '}' || c == ']':
			return nil, fmt.Errorf("%w: unbalanced %q at %d in %q", ErrSyntax, c, i, expr)
		case c == '$':
			i = skipVariable(s, i)
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			i = skipNumber(s, i)
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			word := s[start:i]
			next := skipSpace(s, i)
			switch {
			case slices.Contains(grouping, word):
				if next < len(s) && s[next] == '(' {
					end, err := skipGroup(s, next, '(', ')')
					if err != nil {
						return nil, err
					}
					i = end
				}
			case slices.Contains(aggregations, word), slices.Contains(keywords, word):
			case next < len(s) && s[next] == '(': // a function call
			default:
				if !slices.Contains(names, word) {
					names = append(names, word)
				}
			}
		default: // operators, commas, @
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: %d parentheses do not close in %q", ErrSyntax, depth, expr)
	}
	return names, nil
}

// skipGroup returns the index after the close that matches the open at
// s[i], passing over strings inside.
func skipGroup(s string, i int, open, closing byte) (int, error) {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"', '\'', '`':
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case open:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: %q at %d does not close in %q", ErrSyntax, open, i, s)
}

// skipString returns the index after the string literal starting at s[i].
// Backquoted strings have no escapes.
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: string at %d does not close in %q", ErrSyntax, i, s)
}

// skipVariable returns the index after a Grafana variable at s[i]: $name,
// $__name or ${name...}.
func skipVariable(s string, i int) int {
	j := i + 1
	if j < len(s) && s[j] == '{' {
		for j < len(s) && s[j] != '}' {
			j++
		}
		return min(j+1, len(s))
	}
	for j < len(s) && isIdentPart(s[j]) {
		j++
	}
	return j
}

// skipNumber returns the index after a number or duration at s[i]: 0.95,
// 1e-3, 0x1f, 5m, 1h30m.
func skipNumber(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		switch {
		case isIdentPart(c) || c == '.':
			j++
		case (c == '+' || c == '-') && (s[j-1] == 'e' || s[j-1] == 'E') && !isHex(s[i:j]):
			j++
		default:
			return j
		}
	}
	return j
}

func isHex(n string) bool { return len(n) > 1 && n[0] == '0' && (n[1] == 'x' || n[1] == 'X') }

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
