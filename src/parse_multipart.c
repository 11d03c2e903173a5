/*
 * multipart/form-data: RFC 7578 on top of the multipart syntax of
 * RFC 2046 section 5.1.1.
 *
 *   preamble  --boundary [LWSP] CRLF  headers CRLF  content
 *             CRLF --boundary [LWSP] CRLF  headers CRLF  content
 *             CRLF --boundary--  epilogue
 *
 * Preamble and epilogue are ignored.  Line ends may also be a bare LF:
 * the delimiter is searched as LF "--" boundary and a CR before the LF is
 * treated as part of the line end.  That cannot split a CRLF body wrongly,
 * because the boundary must not occur in any part (RFC 2046 5.1.1) and a
 * CR cannot end a part's content in a CRLF body without belonging to the
 * delimiter's CRLF.
 *
 * Every part needs "Content-Disposition: form-data; name=..." (RFC 7578
 * section 4.2).  Parts with a filename parameter are file uploads and are
 * skipped without being stored; every other part is a text field,
 * whatever its Content-Type.  Part names are taken as sent: browsers
 * escape '"', CR and LF in names as %22, %0D and %0A (HTML "multipart/
 * form-data encoding algorithm") but not '%' itself, so decoding would be
 * ambiguous.
 */
/* memmem: _GNU_SOURCE comes from configure (AC_USE_SYSTEM_EXTENSIONS). */
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "parse_internal.h"

#define BOUNDARY_MAX     70   /* RFC 2046 section 5.1.1 */
#define PART_HEADERS_MAX 8192 /* bytes in one part's header block */

struct multipart {
	const char *end;              /* end of the body */
	char delim[3 + BOUNDARY_MAX]; /* LF "--" boundary */
	size_t delimlen;
	char *header; /* one unfolded header line */
	char *name;   /* the current part's name */
	size_t part;  /* 1-based, for messages */
	const struct parse_limits *lim;
	struct fields *out;
	struct fr_error *err;
};

/* What the headers of one part said. */
struct part {
	int seen;       /* a Content-Disposition header was seen */
	int form_data;  /* ... and its type is form-data */
	int is_file;    /* it has a filename (or filename*) parameter */
	size_t namelen; /* the name is in mp->name */
	int has_name;
};

/* A delimiter found in the body. */
struct delimiter {
	const char *content_end; /* where the preceding part's content ends */
	const char *next;        /* after the delimiter line */
	int close;               /* it was the close-delimiter */
};

/*
 * Classify the bytes after "--boundary": "--" closes, optional linear
 * white space and a line end opens the next part (setting d->next).
 * Anything else means this was not a delimiter.  1 when it is one.
 */
static int
delimiter_tail(const char *p, const char *end, struct delimiter *d)
{
	if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
		d->close = 1;
		d->next = p + 2;
		return 1;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n') {
		d->close = 0;
		d->next = p + 1;
		return 1;
	}
	return 0;
}

/* The first delimiter at or after from (a part's content start). */
static int
find_delimiter(const struct multipart *mp, const char *from,
               struct delimiter *d)
{
	const char *p = from, *lf;

	while ((lf = memmem(p, (size_t)(mp->end - p), mp->delim,
	                    mp->delimlen)) != NULL) {
		if (delimiter_tail(lf + mp->delimlen, mp->end, d)) {
			d->content_end =
			        lf > from && lf[-1] == '\r' ? lf - 1 : lf;
			return 1;
		}
		p = lf + 1;
	}
	return 0;
}

/* The first delimiter, which may also start the body (no preamble). */
static int
find_first_delimiter(const struct multipart *mp, const char *body,
                     struct delimiter *d)
{
	size_t dashlen = mp->delimlen - 1; /* "--" boundary */

	if ((size_t)(mp->end - body) >= dashlen &&
	    memcmp(body, mp->delim + 1, dashlen) == 0 &&
	    delimiter_tail(body + dashlen, mp->end, d))
		return 1;
	return find_delimiter(mp, body, d);
}

/* RFC 7578 section 4.2: Content-Disposition: form-data; name="field" */
static int
disposition(struct multipart *mp, const char *value, const char *end,
            struct part *part)
{
	const char *type = value, *p = value;
	struct header_param hp;
	long n;
	int rc;

	while (p < end && *p != ';' && *p != ' ' && *p != '\t')
		p++;
	part->form_data = ascii_eq_n(type, (size_t)(p - type), "form-data");
	while ((rc = header_param_next(&p, end, &hp)) == 1) {
		if (ascii_eq_n(hp.name, hp.namelen, "filename") ||
		    ascii_eq_n(hp.name, hp.namelen, "filename*"))
			part->is_file = 1;
		if (!part->has_name &&
		    ascii_eq_n(hp.name, hp.namelen, "name")) {
			n = header_param_value(&hp, mp->name,
			                       PART_HEADERS_MAX + 1);
			if (n < 0)
				return -1; /* cannot happen: name < header */
			part->namelen = (size_t)n;
			part->has_name = 1;
		}
	}
	return rc;
}

/* One unfolded header line "Name: value"; only the disposition matters. */
static int
header_line(struct multipart *mp, const char *line, size_t len,
            struct part *part)
{
	const char *colon = memchr(line, ':', len), *end = line + len,
	           *name_end;
	char shown[41];

	if (colon == NULL) {
		parse_printable(shown, sizeof(shown), line, len);
		return fr_fail(mp->err, FR_EMALFORMED, "bad_part_header", NULL,
		               "header line '%s' of multipart part %zu has "
		               "no ':'",
		               shown, mp->part);
	}
	for (name_end = colon; name_end > line && name_end[-1] == ' ';)
		name_end--;
	if (part->seen ||
	    !ascii_eq_n(line, (size_t)(name_end - line), "content-disposition"))
		return FR_OK;
	part->seen = 1;
	for (colon++; colon < end && (*colon == ' ' || *colon == '\t');)
		colon++;
	if (disposition(mp, colon, end, part) < 0)
		return fr_fail(mp->err, FR_EMALFORMED, "bad_part_header", NULL,
		               "the Content-Disposition of multipart part %zu "
		               "is malformed",
		               mp->part);
	return FR_OK;
}

/* The header block ended before its empty line. */
static int
headers_unterminated(const struct multipart *mp, const char *limit)
{
	if (limit < mp->end)
		return fr_fail(mp->err, FR_ETOOLARGE, "part_headers_too_large",
		               NULL,
		               "the headers of multipart part %zu are longer "
		               "than %d bytes",
		               mp->part, PART_HEADERS_MAX);
	return fr_fail(mp->err, FR_EMALFORMED, "unterminated_multipart", NULL,
	               "multipart body ends inside the headers of part %zu "
	               "and has no closing boundary",
	               mp->part);
}

/*
 * Add line to the unfolded header in mp->header (*len bytes so far).  A
 * line starting with white space continues the previous one (RFC 5322
 * section 2.2.3 folding): its leading white space becomes one space, so
 * the unfolded header is never longer than the raw block.
 */
static void
header_append(struct multipart *mp, size_t *len, const char *line,
              size_t linelen)
{
	if (*len > 0) {
		while (linelen > 0 && (*line == ' ' || *line == '\t'))
			line++, linelen--;
		mp->header[(*len)++] = ' ';
	}
	if (linelen > PART_HEADERS_MAX - *len)
		linelen = PART_HEADERS_MAX - *len;
	memcpy(mp->header + *len, line, linelen);
	*len += linelen;
	mp->header[*len] = '\0';
}

/*
 * Read the header block of a part starting at p, up to and including its
 * empty line; *content is set to where the content starts.
 */
static int
read_headers(struct multipart *mp, const char *p, struct part *part,
             const char **content)
{
	const char *limit =
	        mp->end - p > PART_HEADERS_MAX ? p + PART_HEADERS_MAX : mp->end;
	const char *lf;
	size_t linelen, hlen = 0;
	int rc;

	for (;; p = lf + 1) {
		if ((lf = memchr(p, '\n', (size_t)(limit - p))) == NULL)
			return headers_unterminated(mp, limit);
		linelen = (size_t)(lf - p);
		if (linelen > 0 && p[linelen - 1] == '\r')
			linelen--;
		if (linelen > 0 && hlen > 0 && (*p == ' ' || *p == '\t')) {
			header_append(mp, &hlen, p, linelen);
			continue;
		}
		if (hlen > 0 && (rc = header_line(mp, mp->header, hlen, part)))
			return rc;
		hlen = 0;
		if (linelen == 0) {
			*content = lf + 1;
			return FR_OK;
		}
		header_append(mp, &hlen, p, linelen);
	}
}

/* Store a text part as a field; skip file parts and unnamed ones. */
static int
store_part(struct multipart *mp, const struct part *part, const char *content,
           const char *content_end)
{
	if (!part->form_data || !part->has_name)
		return fr_fail(
		        mp->err, FR_EMALFORMED, "bad_part_header", NULL,
		        "multipart part %zu has no \"Content-Disposition: "
		        "form-data\" header with a name",
		        mp->part);
	if (part->is_file || part->namelen == 0)
		return FR_OK;
	return parse_add_form_field(mp->out, mp->lim, mp->name, part->namelen,
	                            content, (size_t)(content_end - content),
	                            mp->err);
}

/* Every part from the first delimiter d to the close-delimiter. */
static int
parse_parts(struct multipart *mp, struct delimiter *d)
{
	struct part part;
	const char *content = NULL;
	int rc;

	while (!d->close) {
		mp->part++;
		memset(&part, 0, sizeof(part));
		if ((rc = read_headers(mp, d->next, &part, &content)))
			return rc;
		if (!find_delimiter(mp, content, d))
			return fr_fail(mp->err, FR_EMALFORMED,
			               "unterminated_multipart", NULL,
			               "multipart body has no closing boundary "
			               "after part %zu",
			               mp->part);
		if ((rc = store_part(mp, &part, content, d->content_end)))
			return rc;
	}
	return FR_OK;
}

/* Set up mp for boundary; FR_OK or a bad_boundary error. */
static int
multipart_init(struct multipart *mp, const char *boundary, const char *end,
               const struct parse_limits *lim, struct fields *out,
               struct fr_error *err)
{
	size_t blen = boundary ? strlen(boundary) : 0;

	memset(mp, 0, sizeof(*mp));
	if (blen == 0 || blen > BOUNDARY_MAX || strpbrk(boundary, "\r\n"))
		return fr_fail(err, FR_EMALFORMED, "bad_boundary", NULL,
		               "the multipart boundary must be 1 to %d "
		               "characters on one line",
		               BOUNDARY_MAX);
	memcpy(mp->delim, "\n--", 3);
	memcpy(mp->delim + 3, boundary, blen);
	mp->delimlen = 3 + blen;
	mp->end = end;
	mp->lim = lim;
	mp->out = out;
	mp->err = err;
	return FR_OK;
}

int
parse_multipart(const char *body, size_t len, const char *boundary,
                const struct parse_limits *lim, struct fields *out,
                struct fr_error *err)
{
	struct parse_limits fallback;
	struct multipart mp;
	struct delimiter d;
	char *buffers;
	int rc;

	lim = parse_limits_or_default(lim, &fallback);
	fields_free(out);
	if ((rc = multipart_init(&mp, boundary, body + len, lim, out, err)))
		return rc;
	if (len == 0 || !find_first_delimiter(&mp, body, &d))
		return fr_fail(err, FR_EMALFORMED, "boundary_not_found", NULL,
		               "the multipart body does not contain the "
		               "boundary given in Content-Type");
	if ((buffers = malloc(2 * (PART_HEADERS_MAX + 1))) == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory parsing a multipart body");
	mp.header = buffers;
	mp.name = buffers + PART_HEADERS_MAX + 1;
	rc = parse_parts(&mp, &d);
	free(buffers);
	if (rc != FR_OK)
		fields_free(out);
	return rc;
}
