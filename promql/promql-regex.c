/* promql-regex.c - is this RE2 regular expression one Go's regexp package accepts?
 *
 * Prometheus compiles the value of every =~ and !~ matcher with Go's regexp package
 * (RE2 syntax, Perl flags), and a value it cannot compile makes the whole expression
 * invalid. This is a checker for that syntax, following the parser of Go 1.19's
 * regexp/syntax (parse.go) step by step, so that it fails on the same inputs with the
 * same error code and the same quoted part: a left-to-right scan over a stack of parsed
 * pieces, '(' and '|' markers, with concatenation and alternation folded when a ')' or
 * '|' or the end is reached.
 *
 * It builds no automaton and matches nothing. What a piece carries is what the checks
 * need: whether it can match the empty string (Prometheus refuses a selector whose
 * matchers all match "", so {a=~".*"} alone is an error), its compiled size and tree
 * height (Go's limits: "expression too large", "expression nests too deeply", computed
 * here on a slightly simpler tree than Go's, so these two are approximate at the
 * boundary), and the product of nested repeat counts (at most 1000).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql-private.h"

#define MAX_REPEAT 1000
#define MAX_HEIGHT 1000
#define MAX_SIZE ((128 << 20) / 40) /* Go: 128 MB of 40-byte instructions */

#define ERR_INVALID_CHAR_RANGE "invalid character class range"
#define ERR_INVALID_ESCAPE "invalid escape sequence"
#define ERR_INVALID_NAMED_CAPTURE "invalid named capture"
#define ERR_INVALID_PERL_OP "invalid or unsupported Perl syntax"
#define ERR_INVALID_REPEAT_OP "invalid nested repetition operator"
#define ERR_INVALID_REPEAT_SIZE "invalid repeat count"
#define ERR_INVALID_UTF8 "invalid UTF-8"
#define ERR_MISSING_BRACKET "missing closing ]"
#define ERR_MISSING_PAREN "missing closing )"
#define ERR_MISSING_REPEAT_ARGUMENT "missing argument to repetition operator"
#define ERR_TRAILING_BACKSLASH "trailing backslash at end of expression"
#define ERR_UNEXPECTED_PAREN "unexpected )"
#define ERR_NESTING_DEPTH "expression nests too deeply"
#define ERR_LARGE "expression too large"

enum piece_kind { PIECE_LPAREN, PIECE_VBAR, PIECE_NODE };

struct piece {
	unsigned char kind;
	bool cap;      /* PIECE_LPAREN: a capturing group */
	bool nullable; /* matches the empty string */
	int height;
	int64_t size;  /* Go's calcSize */
	int64_t rep;   /* least n for which Go's repeatIsValid(piece, n) holds */
};

struct re_parser {
	const char *whole;
	size_t whole_len;
	struct piece *stack;
	size_t n;
	size_t cap;
	size_t nodes; /* pieces made, for the height check (Go starts it at 1000) */
	char *msg;
	size_t msg_size;
};

/* Records Go's error text; returns -EINVAL. */
static int re_error(struct re_parser *p, const char *code, const char *expr, size_t len)
{
	struct promql_buf b;

	promql_buf_init(&b, p->msg, p->msg_size);
	promql_buf_str(&b, "error parsing regexp: ");
	promql_buf_str(&b, code);
	promql_buf_str(&b, ": `");
	promql_buf_add(&b, expr, len);
	promql_buf_str(&b, "`");
	return -EINVAL;
}

static int check_limits(struct re_parser *p, const struct piece *x)
{
	if (x->size > MAX_SIZE)
		return re_error(p, ERR_LARGE, p->whole, p->whole_len);
	if (p->nodes >= MAX_HEIGHT && x->height > MAX_HEIGHT)
		return re_error(p, ERR_NESTING_DEPTH, p->whole, p->whole_len);
	return 0;
}

static int push(struct re_parser *p, struct piece x)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 32;
		struct piece *s = realloc(p->stack, ncap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		p->stack = s;
		p->cap = ncap;
	}
	p->stack[p->n++] = x;
	if (x.kind == PIECE_NODE)
		return check_limits(p, &x);
	return 0;
}

static struct piece leaf(struct re_parser *p, bool nullable)
{
	struct piece x = { .kind = PIECE_NODE, .nullable = nullable, .height = 1, .size = 1 };

	p->nodes++;
	return x;
}

static int push_leaf(struct re_parser *p, bool nullable)
{
	return push(p, leaf(p, nullable));
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Index of the first piece above the topmost '(' or '|' marker. */
static size_t top_start(const struct re_parser *p)
{
	size_t i = p->n;

	while (i > 0 && p->stack[i - 1].kind == PIECE_NODE)
		i--;
	return i;
}

/* Replaces the pieces above the topmost marker with their concatenation (concat=true)
 * or alternation. */
static int fold(struct re_parser *p, bool concat)
{
	size_t i = top_start(p), k = p->n - i;
	struct piece x;

	if (k == 0)
		return push_leaf(p, concat); /* empty match, or (never here) no match */
	if (k == 1)
		return 0;
	x = leaf(p, concat);
	x.size = concat ? 0 : (int64_t)k - 1;
	for (size_t j = i; j < p->n; j++) {
		const struct piece *s = &p->stack[j];

		x.nullable = concat ? x.nullable && s->nullable : x.nullable || s->nullable;
		x.size = min64(x.size + s->size, INT64_MAX / 4);
		if (x.height < s->height + 1)
			x.height = s->height + 1;
		x.rep = max64(x.rep, s->rep);
	}
	x.size = max64(x.size, 1);
	p->n = i;
	return push(p, x);
}

/* If a '|' marker is just below the top piece, moves the piece below it. */
static bool swap_vertical_bar(struct re_parser *p)
{
	if (p->n >= 2 && p->stack[p->n - 2].kind == PIECE_VBAR) {
		struct piece t = p->stack[p->n - 1];

		p->stack[p->n - 1] = p->stack[p->n - 2];
		p->stack[p->n - 2] = t;
		return true;
	}
	return false;
}

static int end_group(struct re_parser *p)
{
	int r = fold(p, true);

	if (r < 0)
		return r;
	if (swap_vertical_bar(p))
		p->n--;
	return fold(p, false);
}

static int parse_right_paren(struct re_parser *p)
{
	struct piece x, lp;
	int r = end_group(p);

	if (r < 0)
		return r;
	if (p->n < 2)
		return re_error(p, ERR_UNEXPECTED_PAREN, p->whole, p->whole_len);
	x = p->stack[p->n - 1];
	lp = p->stack[p->n - 2];
	p->n -= 2;
	if (lp.kind != PIECE_LPAREN)
		return re_error(p, ERR_UNEXPECTED_PAREN, p->whole, p->whole_len);
	if (lp.cap) {
		p->nodes++;
		x.size = min64(x.size + 2, INT64_MAX / 4);
		x.height++;
	}
	return push(p, x);
}

/* Applies a repetition operator to the top piece. op is '*', '+', '?' or '{'; before
 * points at the operator, *after just past it; last_repeat is the previous operator when
 * it came right before this one. */
static int repeat(struct re_parser *p, char op, int min, int max, const char *before,
		  const char **after, const char *end, const char *last_repeat)
{
	struct piece *sub, x;

	if (*after < end && **after == '?')
		(*after)++;
	if (last_repeat)
		return re_error(p, ERR_INVALID_REPEAT_OP, last_repeat,
				(size_t)(*after - last_repeat));
	if (p->n == 0 || p->stack[p->n - 1].kind != PIECE_NODE)
		return re_error(p, ERR_MISSING_REPEAT_ARGUMENT, before, (size_t)(*after - before));
	sub = &p->stack[p->n - 1];
	x = leaf(p, false);
	x.height = sub->height + 1;
	x.rep = sub->rep;
	switch (op) {
	case '*':
		x.nullable = true;
		x.size = sub->size + 2;
		break;
	case '+':
		x.nullable = sub->nullable;
		x.size = sub->size + 1;
		break;
	case '?':
		x.nullable = true;
		x.size = sub->size + 1;
		break;
	default: {
		int64_t m = max == -1 ? min : max;

		x.nullable = min == 0 || sub->nullable;
		if (max == -1)
			x.size = min == 0 ? 2 + sub->size : 1 + (int64_t)min * sub->size;
		else
			x.size = (int64_t)max * sub->size + (max - min);
		x.rep = m == 0 ? 0 : min64(max64(m, m * sub->rep), (int64_t)1 << 40);
		break;
	}
	}
	x.size = max64(min64(x.size, INT64_MAX / 4), 1);
	*sub = x;
	if (check_limits(p, &x) < 0)
		return -EINVAL;
	if (op == '{' && (min >= 2 || max >= 2) && x.rep > MAX_REPEAT)
		return re_error(p, ERR_INVALID_REPEAT_SIZE, before, (size_t)(*after - before));
	return 0;
}

/* Go's parseInt for repeat counts: decimal, no leading zeros; -1 when too big. */
static bool parse_int(const char **s, const char *end, int *ret)
{
	const char *t = *s;
	int n = 0;

	if (t == end || *t < '0' || *t > '9')
		return false;
	if (end - t >= 2 && t[0] == '0' && t[1] >= '0' && t[1] <= '9')
		return false;
	while (t < end && *t >= '0' && *t <= '9') {
		if (n >= 0) {
			if (n >= 100000000)
				n = -1;
			else
				n = n * 10 + (*t - '0');
		}
		t++;
	}
	*s = t;
	*ret = n;
	return true;
}

/* {min}, {min,} or {min,max}; false when s does not have that form. */
static bool parse_repeat(const char *s, const char *end, int *min, int *max, const char **rest)
{
	if (s == end || *s != '{')
		return false;
	s++;
	if (!parse_int(&s, end, min) || s == end)
		return false;
	if (*s != ',') {
		*max = *min;
	} else {
		s++;
		if (s == end)
			return false;
		if (*s == '}') {
			*max = -1;
		} else {
			if (!parse_int(&s, end, max))
				return false;
			if (*max < 0)
				*min = -1;
		}
	}
	if (s == end || *s != '}')
		return false;
	*rest = s + 1;
	return true;
}

static int next_rune(struct re_parser *p, const char **t, const char *end, int32_t *c)
{
	size_t w;

	*c = promql_utf8_decode(*t, (size_t)(end - *t), &w);
	if (*c == 0xFFFD && w == 1)
		return re_error(p, ERR_INVALID_UTF8, *t, (size_t)(end - *t));
	*t += w;
	return 0;
}

static int check_utf8(struct re_parser *p, const char *s, const char *end)
{
	while (s < end) {
		int32_t c;
		int r = next_rune(p, &s, end, &c);

		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_alnum(int32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int unhex(int32_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An escape sequence at s (a backslash): its rune, or Go's error. */
static int parse_escape(struct re_parser *p, const char **s, const char *end, int32_t *ret)
{
	const char *t = *s + 1;
	int32_t c, r = 0;
	int err;

	if (t == end)
		return re_error(p, ERR_TRAILING_BACKSLASH, "", 0);
	if ((err = next_rune(p, &t, end, &c)) < 0)
		return err;

	switch (c) {
	case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		/* a single non-zero digit is a backreference: not supported */
		if (t == end || *t < '0' || *t > '7')
			break;
		/* fall through */
	case '0':
		r = c - '0';
		for (int i = 1; i < 3 && t < end && *t >= '0' && *t <= '7'; i++)
			r = r * 8 + (*t++ - '0');
		goto ok;
	case 'x':
		if (t == end)
			break;
		if ((err = next_rune(p, &t, end, &c)) < 0)
			return err;
		if (c == '{') {
			int nhex = 0;

			for (;;) {
				int v;

				if (t == end)
					goto bad;
				if ((err = next_rune(p, &t, end, &c)) < 0)
					return err;
				if (c == '}')
					break;
				v = unhex(c);
				if (v < 0)
					goto bad;
				r = r * 16 + v;
				if (r > 0x10FFFF)
					goto bad;
				nhex++;
			}
			if (nhex == 0)
				goto bad;
			goto ok;
		} else {
			int x = unhex(c), y;

			if (t == end) {
				y = -1;
			} else {
				if ((err = next_rune(p, &t, end, &c)) < 0)
					return err;
				y = unhex(c);
			}
			if (x < 0 || y < 0)
				break;
			r = x * 16 + y;
			goto ok;
		}
	case 'a': r = '\a'; goto ok;
	case 'f': r = '\f'; goto ok;
	case 'n': r = '\n'; goto ok;
	case 'r': r = '\r'; goto ok;
	case 't': r = '\t'; goto ok;
	case 'v': r = '\v'; goto ok;
	default:
		/* escaped punctuation is itself */
		if (c < 0x80 && !is_alnum(c)) {
			r = c;
			goto ok;
		}
	}
bad:
	return re_error(p, ERR_INVALID_ESCAPE, *s, (size_t)(t - *s));
ok:
	*s = t;
	*ret = r;
	return 0;
}

/* The Unicode categories and scripts of Go 1.19 (Unicode 13.0.0), for \p{...}. */
static const char *const unicode_names[] = {
	"Any", "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc",
	"Me", "Mn", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps",
	"S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
	"Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan", "Balinese",
	"Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi",
	"Braille", "Buginese", "Buhid", "Canadian_Aboriginal", "Carian",
	"Caucasian_Albanian", "Chakma", "Cham", "Cherokee", "Chorasmian", "Common", "Coptic",
	"Cuneiform", "Cypriot", "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru", "Dogra",
	"Duployan", "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic", "Georgian",
	"Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati", "Gunjala_Gondi", "Gurmukhi",
	"Han", "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew", "Hiragana",
	"Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi", "Inscriptional_Parthian",
	"Javanese", "Kaithi", "Kannada", "Katakana", "Kayah_Li", "Kharoshthi",
	"Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi", "Lao", "Latin", "Lepcha",
	"Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani", "Makasar",
	"Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin",
	"Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao",
	"Modi", "Mongolian", "Mro", "Multani", "Myanmar", "Nabataean", "Nandinagari",
	"New_Tai_Lue", "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki",
	"Old_Hungarian", "Old_Italic", "Old_North_Arabian", "Old_Permic", "Old_Persian",
	"Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Oriya", "Osage", "Osmanya",
	"Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Phags_Pa", "Phoenician",
	"Psalter_Pahlavi", "Rejang", "Runic", "Samaritan", "Saurashtra", "Sharada", "Shavian",
	"Siddham", "SignWriting", "Sinhala", "Sogdian", "Sora_Sompeng", "Soyombo",
	"Sundanese", "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham",
	"Tai_Viet", "Takri", "Tamil", "Tangut", "Telugu", "Thaana", "Thai", "Tibetan",
	"Tifinagh", "Tirhuta", "Ugaritic", "Vai", "Wancho", "Warang_Citi", "Yezidi", "Yi",
	"Zanabazar_Square",
};

static bool unicode_name_known(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(unicode_names) / sizeof(unicode_names[0]); i++)
		if (strlen(unicode_names[i]) == len && !memcmp(unicode_names[i], name, len))
			return true;
	return false;
}

/* \pL, \p{Greek}, \P{^Greek} at t: 1 and *t advanced when there is one, 0 when t does
 * not start with \p or \P, or an error. */
static int parse_unicode_class(struct re_parser *p, const char **t, const char *end)
{
	const char *s = *t, *u = s + 2, *name, *seq_end;
	size_t name_len;
	int32_t c;
	size_t w;
	int err;

	if (end - s < 2 || s[0] != '\\' || (s[1] != 'p' && s[1] != 'P'))
		return 0;
	c = promql_utf8_decode(u, (size_t)(end - u), &w);
	if (c == 0xFFFD && w == 1)
		return re_error(p, ERR_INVALID_UTF8, u, (size_t)(end - u));
	u += w;
	if (c != '{') {
		seq_end = u;
		name = s + 2;
		name_len = (size_t)(u - name);
	} else {
		const char *close = memchr(s, '}', (size_t)(end - s));

		if (!close) {
			if ((err = check_utf8(p, s, end)) < 0)
				return err;
			return re_error(p, ERR_INVALID_CHAR_RANGE, s, (size_t)(end - s));
		}
		seq_end = close + 1;
		name = s + 3;
		name_len = (size_t)(close - name);
		if ((err = check_utf8(p, name, close)) < 0)
			return err;
	}
	if (name_len > 0 && name[0] == '^') {
		name++;
		name_len--;
	}
	if (!unicode_name_known(name, name_len))
		return re_error(p, ERR_INVALID_CHAR_RANGE, s, (size_t)(seq_end - s));
	*t = seq_end;
	return 1;
}

static bool perl_class_escape(const char **t, const char *end)
{
	if (end - *t >= 2 && (*t)[0] == '\\' && strchr("dDsSwW", (*t)[1]) && (*t)[1]) {
		*t += 2;
		return true;
	}
	return false;
}

/* [:alpha:] and friends at t: 1 and advanced, 0 when not one, or an error. */
static int parse_named_class(struct re_parser *p, const char **t, const char *end)
{
	static const char *const names[] = { "alnum", "alpha", "ascii", "blank", "cntrl",
					     "digit", "graph", "lower", "print", "punct",
					     "space", "upper", "word", "xdigit" };
	const char *s = *t, *close = NULL;
	const char *name;
	size_t len;

	if (end - s < 2 || s[0] != '[' || s[1] != ':')
		return 0;
	for (const char *q = s + 2; q + 1 < end; q++)
		if (q[0] == ':' && q[1] == ']') {
			close = q;
			break;
		}
	if (!close)
		return 0;
	name = s + 2;
	len = (size_t)(close - name);
	if (len > 0 && name[0] == '^') {
		name++;
		len--;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !memcmp(names[i], name, len)) {
			*t = close + 2;
			return 1;
		}
	return re_error(p, ERR_INVALID_CHAR_RANGE, s, (size_t)(close + 2 - s));
}

static int parse_class_char(struct re_parser *p, const char **t, const char *end,
			    const char *whole_class, int32_t *r)
{
	if (*t == end)
		return re_error(p, ERR_MISSING_BRACKET, whole_class,
				(size_t)(end - whole_class));
	if (**t == '\\')
		return parse_escape(p, t, end, r);
	return next_rune(p, t, end, r);
}

/* A character class at *s ('['). */
static int parse_class(struct re_parser *p, const char **s, const char *end)
{
	const char *t = *s + 1;
	bool first = true;
	int err;

	if (t < end && *t == '^')
		t++;
	while (t == end || *t != ']' || first) {
		const char *rng = t;
		int32_t lo, hi;

		first = false;
		if (end - t > 2 && t[0] == '[' && t[1] == ':') {
			err = parse_named_class(p, &t, end);
			if (err < 0)
				return err;
			if (err > 0)
				continue;
		}
		err = parse_unicode_class(p, &t, end);
		if (err < 0)
			return err;
		if (err > 0)
			continue;
		if (perl_class_escape(&t, end))
			continue;
		if ((err = parse_class_char(p, &t, end, *s, &lo)) < 0)
			return err;
		hi = lo;
		/* [a-] means a or - */
		if (end - t >= 2 && t[0] == '-' && t[1] != ']') {
			t++;
			if ((err = parse_class_char(p, &t, end, *s, &hi)) < 0)
				return err;
			if (hi < lo)
				return re_error(p, ERR_INVALID_CHAR_RANGE, rng, (size_t)(t - rng));
		}
	}
	*s = t + 1;
	return push_leaf(p, false);
}

/* (?flags), (?flags:, (?P<name> at *s. */
static int parse_perl_flags(struct re_parser *p, const char **s, const char *end)
{
	const char *t = *s;
	int sign = 1;
	bool saw_flag = false;
	int err;

	if (end - t > 4 && t[2] == 'P' && t[3] == '<') {
		const char *close = memchr(t, '>', (size_t)(end - t));
		const char *name;

		if (!close) {
			if ((err = check_utf8(p, t, end)) < 0)
				return err;
			return re_error(p, ERR_INVALID_NAMED_CAPTURE, t, (size_t)(end - t));
		}
		name = t + 4;
		if ((err = check_utf8(p, name, close)) < 0)
			return err;
		if (name == close)
			return re_error(p, ERR_INVALID_NAMED_CAPTURE, t, (size_t)(close + 1 - t));
		for (const char *q = name; q < close; q++)
			if (*q != '_' && !is_alnum((unsigned char)*q))
				return re_error(p, ERR_INVALID_NAMED_CAPTURE, t,
						(size_t)(close + 1 - t));
		*s = close + 1;
		return push(p, (struct piece){ .kind = PIECE_LPAREN, .cap = true });
	}

	t += 2;
	while (t < end) {
		int32_t c;

		if ((err = next_rune(p, &t, end, &c)) < 0)
			return err;
		switch (c) {
		case 'i':
		case 'm':
		case 's':
		case 'U':
			saw_flag = true;
			continue;
		case '-':
			if (sign < 0)
				break;
			sign = -1;
			saw_flag = false;
			continue;
		case ':':
		case ')':
			if (sign < 0 && !saw_flag)
				break;
			*s = t;
			if (c == ':')
				return push(p, (struct piece){ .kind = PIECE_LPAREN });
			return 0;
		}
		break;
	}
	return re_error(p, ERR_INVALID_PERL_OP, *s, (size_t)(t - *s));
}

static int parse(struct re_parser *p, bool *ret_nullable)
{
	const char *t = p->whole, *end = p->whole + p->whole_len;
	const char *last_repeat = NULL;
	int err = 0;

	while (t < end) {
		const char *repeat_op = NULL;
		int32_t c;

		switch (*t) {
		case '(':
			if (end - t >= 2 && t[1] == '?') {
				err = parse_perl_flags(p, &t, end);
				break;
			}
			p->nodes++;
			err = push(p, (struct piece){ .kind = PIECE_LPAREN, .cap = true });
			t++;
			break;
		case '|':
			err = fold(p, true);
			if (err == 0 && !swap_vertical_bar(p))
				err = push(p, (struct piece){ .kind = PIECE_VBAR });
			t++;
			break;
		case ')':
			err = parse_right_paren(p);
			t++;
			break;
		case '^':
		case '$':
			err = push_leaf(p, true);
			t++;
			break;
		case '.':
			err = push_leaf(p, false);
			t++;
			break;
		case '[':
			err = parse_class(p, &t, end);
			break;
		case '*':
		case '+':
		case '?': {
			const char *before = t;

			t++;
			err = repeat(p, *before, 0, 0, before, &t, end, last_repeat);
			repeat_op = before;
			break;
		}
		case '{': {
			const char *before = t, *after;
			int min, max;

			if (!parse_repeat(t, end, &min, &max, &after)) {
				err = push_leaf(p, false); /* a literal { */
				t++;
				break;
			}
			if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
				err = re_error(p, ERR_INVALID_REPEAT_SIZE, before,
					       (size_t)(after - before));
				break;
			}
			t = after;
			err = repeat(p, '{', min, max, before, &t, end, last_repeat);
			repeat_op = before;
			break;
		}
		case '\\':
			if (end - t >= 2) {
				switch (t[1]) {
				case 'A':
				case 'B':
				case 'z':
					err = push_leaf(p, true);
					t += 2;
					goto next;
				case 'b':
					/* a word boundary: never in the empty string */
					err = push_leaf(p, false);
					t += 2;
					goto next;
				case 'C':
					err = re_error(p, ERR_INVALID_ESCAPE, t, 2);
					goto next;
				case 'Q': {
					const char *lit = t + 2, *lit_end = end;

					t = end;
					for (const char *q = lit; q + 1 < end; q++)
						if (q[0] == '\\' && q[1] == 'E') {
							lit_end = q;
							t = q + 2;
							break;
						}
					while (lit < lit_end && err == 0) {
						err = next_rune(p, &lit, lit_end, &c);
						if (err == 0)
							err = push_leaf(p, false);
					}
					goto next;
				}
				}
			}
			err = parse_unicode_class(p, &t, end);
			if (err > 0) {
				err = push_leaf(p, false);
				break;
			}
			if (err < 0)
				break;
			if (perl_class_escape(&t, end)) {
				err = push_leaf(p, false);
				break;
			}
			err = parse_escape(p, &t, end, &c);
			if (err == 0)
				err = push_leaf(p, false);
			break;
		default:
			err = next_rune(p, &t, end, &c);
			if (err == 0)
				err = push_leaf(p, false);
			break;
		}
next:
		if (err < 0)
			return err;
		last_repeat = repeat_op;
	}

	if ((err = end_group(p)) < 0)
		return err;
	if (p->n != 1)
		return re_error(p, ERR_MISSING_PAREN, p->whole, p->whole_len);
	*ret_nullable = p->stack[0].nullable;
	return 0;
}

static int parse_one(const char *re, size_t len, bool *ret_nullable, char *msg, size_t msg_size)
{
	struct re_parser p = { .whole = re, .whole_len = len, .msg = msg, .msg_size = msg_size };
	int r = parse(&p, ret_nullable);

	free(p.stack);
	return r;
}

int promql_regex_check(const char *value, size_t len, bool *ret_matches_empty, char *msg,
		       size_t msg_size)
{
	static const char prefix[] = "^(?:", suffix[] = ")$";
	char *anchored;
	bool nullable, ignored;
	int r;

	anchored = malloc(len + sizeof(prefix) + sizeof(suffix));
	if (!anchored)
		return -ENOMEM;
	memcpy(anchored, prefix, sizeof(prefix) - 1);
	memcpy(anchored + sizeof(prefix) - 1, value, len);
	memcpy(anchored + sizeof(prefix) - 1 + len, suffix, sizeof(suffix) - 1);
	r = parse_one(anchored, len + sizeof(prefix) + sizeof(suffix) - 2, &nullable, msg,
		      msg_size);
	free(anchored);
	/* Prometheus parses the bare value too (for its prefix optimisation): "a)|(b" is
	 * fine anchored, not alone. */
	if (r == 0)
		r = parse_one(value, len, &ignored, msg, msg_size);
	if (r == 0)
		*ret_matches_empty = nullable;
	return r;
}
