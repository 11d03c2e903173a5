/*
 * Test helper: run tests/standin.py (the stand-in Customer.io) as a child
 * process on an ephemeral port, script it and read what it received.
 * For C tests only; uses libcurl and json-c directly.
 */
#ifndef FORMRELAY_TEST_STANDIN_H
#define FORMRELAY_TEST_STANDIN_H

#include <sys/types.h>

#include <json-c/json.h>

struct standin {
	pid_t pid;
	int port;
	char dir[256]; /* mkdtemp dir holding the port file */
	char base[64]; /* "http://127.0.0.1:PORT/v1" */
};

/*
 * Start the stand-in and wait (polling, 10 s deadline) for its port file.
 * Returns 0, 77 when python3 or the script cannot be found (skip), or -1
 * with a diagnostic on stderr.
 */
int standin_start(struct standin *s);

/* Stop it (SIGTERM, then wait) and remove its directory. */
void standin_stop(struct standin *s);

/* POST /_control/script with the JSON text.  0 or -1. */
int standin_script(struct standin *s, const char *json);

/* POST /_control/reset.  0 or -1. */
int standin_reset(struct standin *s);

/* GET /_control/<what> ("requests", "messages") parsed; caller puts it
 * (json_object_put).  NULL on failure. */
struct json_object *standin_get(struct standin *s, const char *what);

/* A loopback port with nothing listening (for connect failures). */
int standin_dead_port(void);

/* A temporary directory for the test (mkdtemp); 0 or -1. */
int test_tmpdir(char *buf, size_t size);

/* Remove a directory and the plain files in it. */
void test_rmdir(const char *dir);

#endif
