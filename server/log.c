/*
 * log — logfmt or JSON lines on stderr (see log.h).
 *
 * A line is built whole in memory and written with one write(2), so lines
 * from several processes sharing stderr do not interleave.
 */
#include "server/log.h"
#include "server/clock.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min = LOG_INFO;
static enum log_format log_fmt = LOG_FORMAT_LOGFMT;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (strcmp(name, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

int log_format_parse(const char *name, enum log_format *out)
{
	if (strcmp(name, "logfmt") == 0)
		*out = LOG_FORMAT_LOGFMT;
	else if (strcmp(name, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

void log_setup(enum log_level min, enum log_format format)
{
	log_min = min;
	log_fmt = format;
}

const char *log_quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;
	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = (c == '"' || c == '\\') ? 2 : (c < 0x20 ? 4 : 1);
		if (o + need + 5 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Splits logfmt "k=v k2=\"v 2\"" into a JSON object (values as strings). */
static void log_kv_to_json(json_t *obj, const char *kv)
{
	const char *p = kv;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *k = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		if (*p != '=') {
			if (p > k)
				json_object_set_new(obj, "extra", json_stringn(k, (size_t)(p - k)));
			continue;
		}
		char key[64];
		size_t kl = (size_t)(p - k) < sizeof(key) - 1 ? (size_t)(p - k) : sizeof(key) - 1;
		memcpy(key, k, kl);
		key[kl] = '\0';
		p++;
		char val[1024];
		size_t vl = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				if (vl < sizeof(val) - 1)
					val[vl++] = *p;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ') {
				if (vl < sizeof(val) - 1)
					val[vl++] = *p;
				p++;
			}
		}
		val[vl] = '\0';
		json_object_set_new(obj, key, json_string(val));
	}
}

void log_write(enum log_level level, const char *subsystem, const char *msg, const char *kvfmt, ...)
{
	if (level < log_min)
		return;
	char kv[2048];
	va_list ap;
	va_start(ap, kvfmt);
	vsnprintf(kv, sizeof(kv), kvfmt, ap);
	va_end(ap);

	char when[DATES_BUF];
	clock_text(clock_now_ms(), when);

	char line[4096];
	int n;
	if (log_fmt == LOG_FORMAT_JSON) {
		json_t *o = json_object();
		json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "level", json_string(log_level_names[level]));
		json_object_set_new(o, "subsystem", json_string(subsystem));
		json_object_set_new(o, "msg", json_string(msg));
		log_kv_to_json(o, kv);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		n = snprintf(line, sizeof(line), "%s\n", s ? s : "{}");
		free(s);
	} else {
		char qmsg[256];
		n = snprintf(line, sizeof(line), "time=%s level=%s subsystem=%s msg=%s%s%s\n", when,
			     log_level_names[level], subsystem, log_quote(qmsg, sizeof(qmsg), msg),
			     kv[0] ? " " : "", kv);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
