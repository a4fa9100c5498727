/*
 * log — one line per event on stderr, a level, a subsystem, key=value pairs.
 *
 * The caller writes the key=value part in logfmt; in JSON mode the line is
 * re-emitted as one JSON object with the same keys. Values that may hold
 * spaces or quotes go through log_quote(). Tokens and bodies are never logged.
 */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

/* Returns 0, or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
int log_format_parse(const char *name, enum log_format *out);
void log_setup(enum log_level min, enum log_format format);

/* log_write(LOG_INFO, "http", "request", "status=%d path=%s", ...) */
void log_write(enum log_level level, const char *subsystem, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Quotes s for a logfmt value into buf (always terminated, truncated with
 * "..." when it does not fit) and returns buf.
 */
const char *log_quote(char *buf, size_t size, const char *s);

#define log_debug(sub, msg, ...) log_write(LOG_DEBUG, sub, msg, __VA_ARGS__)
#define log_info(sub, msg, ...) log_write(LOG_INFO, sub, msg, __VA_ARGS__)
#define log_warn(sub, msg, ...) log_write(LOG_WARN, sub, msg, __VA_ARGS__)
#define log_error(sub, msg, ...) log_write(LOG_ERROR, sub, msg, __VA_ARGS__)

#endif
