/*
 * End-to-end test of the freshcreds C ABI, as a C caller uses it, against the local simulator
 * (rust/freshcreds-sim) on 127.0.0.1. C99; only freshcreds.h and the C standard library.
 *
 * Environment:
 *   FRESHCREDS_SIM_ENDPOINT            the simulator's base URL, http://127.0.0.1:PORT (required;
 *                                      anything that is not loopback is refused)
 *   FRESHCREDS_EXPECTED_ACCESS_KEY_ID  the access key id the simulator's IMDS serves now
 *                                      (optional; the access key comparison is skipped without it)
 *
 * Prints one line per check, `ok - name` or `not ok - name: detail`, then `N passed, N failed`
 * as the last line; exits 1 if any check failed. Never prints a secret, a token or a key: only
 * lengths. Every agent is pinned to the IMDS source with an explicit loopback endpoint, so no
 * other credential source and no address but the simulator's is ever used.
 *
 * Run by scripts/test-c-abi.sh.
 */

#include "freshcreds.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int passed;
static int failed;

/* Prints `ok - name` or `not ok - name: detail` (detail is a printf format). */
static void check(int condition, const char *name, const char *detail_format, ...) {
  if (condition) {
    passed++;
    printf("ok - %s\n", name);
  } else {
    char detail[512];
    va_list args;
    va_start(args, detail_format);
    vsnprintf(detail, sizeof detail, detail_format, args);
    va_end(args);
    failed++;
    printf("not ok - %s: %s\n", name, detail);
  }
  fflush(stdout);
}

static const char *status_name(enum FreshcredsStatus status) {
  switch (status) {
    case FRESHCREDS_STATUS_OK: return "OK";
    case FRESHCREDS_STATUS_CREDENTIALS_UNAVAILABLE: return "CREDENTIALS_UNAVAILABLE";
    case FRESHCREDS_STATUS_INVALID_CONFIGURATION: return "INVALID_CONFIGURATION";
    case FRESHCREDS_STATUS_CLOSED: return "CLOSED";
    case FRESHCREDS_STATUS_INTERNAL: return "INTERNAL";
    case FRESHCREDS_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
  }
  return "(unknown status)";
}

/* Error messages never contain secrets (the ABI's rule), so a copy may be printed in a detail. */
static char last_message[512];

/*
 * Copies `*message` into last_message (empty when null), frees it with the ABI's
 * freshcreds_string_free and sets `*message` to null. Returns the message's length, -1 if null.
 */
static long take_message(char **message) {
  long length = -1;
  last_message[0] = '\0';
  if (*message != NULL) {
    length = (long)strlen(*message);
    strncpy(last_message, *message, sizeof last_message - 1);
    last_message[sizeof last_message - 1] = '\0';
    freshcreds_string_free(*message);
    *message = NULL;
  }
  return length;
}

/* A call that must fail with `expected` and a non-empty message (containing `needle` if given). */
static void check_failure(const char *name, enum FreshcredsStatus status, enum FreshcredsStatus expected, char **message,
                          const char *needle) {
  long length = take_message(message);
  if (status != expected) {
    check(0, name, "status %s, expected %s (message: %s)", status_name(status), status_name(expected), last_message);
  } else if (length <= 0) {
    check(0, name, "status %s but no error message", status_name(status));
  } else if (needle != NULL && strstr(last_message, needle) == NULL) {
    check(0, name, "message lacks \"%s\": %s", needle, last_message);
  } else {
    check(1, name, "");
  }
}

static enum FreshcredsStatus new_agent(const char *const *keys, const char *const *values, size_t count, uint64_t *agent,
                                       char **message) {
  *agent = 0;
  return freshcreds_agent_new(keys, values, (uintptr_t)count, agent, message);
}

static void clear(struct FreshcredsCredentials *c) {
  memset(c, 0, sizeof *c);
}

static size_t length_of(const char *s) {
  return s == NULL ? 0 : strlen(s);
}

static int64_t now_millis(void) {
  return (int64_t)time(NULL) * 1000;
}

/* Checks one fetch's credentials; copies the access key id (not a secret, but never printed). */
static void check_credentials(const char *what, const struct FreshcredsCredentials *c, const char *expected_key,
                              char *key_copy, size_t key_copy_size) {
  char name[160];
  size_t key_length = length_of(c->access_key_id);
  size_t secret_length = length_of(c->secret_access_key);
  size_t token_length = length_of(c->session_token);
  int64_t now = now_millis();
  int64_t expiration = c->expiration_epoch_millis;

  snprintf(name, sizeof name, "%s: access key, secret and token are non-empty", what);
  check(key_length > 0 && secret_length > 0 && token_length > 0, name,
        "lengths: access key %lu, secret %lu, token %lu (token %s)", (unsigned long)key_length, (unsigned long)secret_length,
        (unsigned long)token_length, c->session_token == NULL ? "null" : "present");
  snprintf(name, sizeof name, "%s: expiration is in the future", what);
  check(expiration != INT64_MIN && expiration > now, name, "expiration %" PRId64 " ms, now %" PRId64 " ms", expiration, now);
  snprintf(name, sizeof name, "%s: access key is the one the simulator serves", what);
  if (expected_key == NULL || expected_key[0] == '\0') {
    /* Not counted: the caller gave no expected key. */
    printf("ok - %s # SKIP FRESHCREDS_EXPECTED_ACCESS_KEY_ID not set\n", name);
    fflush(stdout);
  } else {
    check(c->access_key_id != NULL && strcmp(c->access_key_id, expected_key) == 0, name,
          "the keys differ (lengths %lu and %lu)", (unsigned long)key_length, (unsigned long)strlen(expected_key));
  }
  if (key_copy != NULL) {
    key_copy[0] = '\0';
    if (c->access_key_id != NULL && key_length < key_copy_size) {
      memcpy(key_copy, c->access_key_id, key_length + 1);
    }
  }
}

int main(void) {
  const char *endpoint = getenv("FRESHCREDS_SIM_ENDPOINT");
  const char *expected_key = getenv("FRESHCREDS_EXPECTED_ACCESS_KEY_ID");
  const char *loopback = "http://127.0.0.1:";
  char first_key[256];
  char *message = NULL;
  uint64_t agent = 0;
  uint64_t first_generation = 0;
  enum FreshcredsStatus status;
  struct FreshcredsCredentials creds;

  /* The network rule: loopback only. Without a loopback endpoint, nothing is created. */
  if (endpoint == NULL || strncmp(endpoint, loopback, strlen(loopback)) != 0 ||
      strlen(endpoint) <= strlen(loopback)) {
    check(0, "FRESHCREDS_SIM_ENDPOINT is a loopback URL", "got %s; expected http://127.0.0.1:PORT",
          endpoint == NULL ? "(unset)" : endpoint);
    printf("%d passed, %d failed\n", passed, failed);
    return 1;
  }
  check(1, "FRESHCREDS_SIM_ENDPOINT is a loopback URL", "");

  {
    /* Pinned to IMDS at the simulator; imdsDisabled=false so AWS_EC2_METADATA_DISABLED cannot matter. */
    const char *keys[] = {"source", "endpoint", "imdsDisabled", "maxAttempts", "attemptTimeoutMillis"};
    const char *values[] = {"imds", endpoint, "false", "3", "5000"};
    status = new_agent(keys, values, sizeof keys / sizeof keys[0], &agent, &message);
    take_message(&message);
    check(status == FRESHCREDS_STATUS_OK && agent != 0, "create an agent pinned to IMDS at the simulator",
          "status %s, handle %" PRIu64 " (message: %s)", status_name(status), agent, last_message);
  }

  /* First fetch. */
  clear(&creds);
  status = freshcreds_agent_get_credentials(agent, &creds, &message);
  {
    int no_message = message == NULL; /* success leaves error_out alone */
    take_message(&message);
    check(status == FRESHCREDS_STATUS_OK && no_message, "fetch credentials", "status %s (message: %s)", status_name(status),
          last_message);
  }
  if (status == FRESHCREDS_STATUS_OK) {
    check_credentials("first fetch", &creds, expected_key, first_key, sizeof first_key);
    check(creds.generation == 1, "first fetch: generation is 1", "generation %" PRIu64, creds.generation);
    first_generation = creds.generation;
  } else {
    first_key[0] = '\0';
  }
  freshcreds_credentials_free(&creds);
  check(creds.access_key_id == NULL && creds.secret_access_key == NULL && creds.session_token == NULL,
        "credentials_free nulls the access key, secret and token", "a pointer is still set");
  freshcreds_credentials_free(&creds); /* Freeing twice is harmless: the pointers are null now. */
  check(1, "credentials_free twice is harmless", "");
  freshcreds_credentials_free(NULL);
  freshcreds_string_free(NULL);
  check(1, "credentials_free(NULL) and string_free(NULL) are harmless", "");

  /* A second fetch is served from the cache: same credentials, same generation. */
  clear(&creds);
  status = freshcreds_agent_get_credentials(agent, &creds, &message);
  take_message(&message);
  check(status == FRESHCREDS_STATUS_OK && creds.generation == first_generation &&
            creds.access_key_id != NULL && strcmp(creds.access_key_id, first_key) == 0,
        "second fetch is served from the cache (same key, same generation)", "status %s, generation %" PRIu64 " (message: %s)",
        status_name(status), creds.generation, last_message);
  freshcreds_credentials_free(&creds);

  /* Invalidate, then fetch again. */
  status = freshcreds_agent_invalidate(agent, "ASIANOTISSUEDBYSIM00", &message);
  take_message(&message);
  check(status == FRESHCREDS_STATUS_OK, "invalidate an access key the agent does not hold", "status %s (message: %s)",
        status_name(status), last_message);
  status = freshcreds_agent_invalidate(agent, first_key, &message);
  take_message(&message);
  check(status == FRESHCREDS_STATUS_OK, "invalidate the current access key", "status %s (message: %s)", status_name(status),
        last_message);
  clear(&creds);
  status = freshcreds_agent_get_credentials(agent, &creds, &message);
  take_message(&message);
  check(status == FRESHCREDS_STATUS_OK, "fetch after invalidate", "status %s (message: %s)", status_name(status), last_message);
  if (status == FRESHCREDS_STATUS_OK) {
    check_credentials("fetch after invalidate", &creds, expected_key, NULL, 0);
    check(creds.generation > first_generation, "fetch after invalidate: the agent refreshed (generation went up)",
          "generation %" PRIu64 ", before %" PRIu64, creds.generation, first_generation);
  }
  freshcreds_credentials_free(&creds);
  check(creds.access_key_id == NULL && creds.secret_access_key == NULL && creds.session_token == NULL,
        "credentials_free nulls the refreshed credentials", "a pointer is still set");

  /* Null pointers: FRESHCREDS_STATUS_INVALID_ARGUMENT and a message, never a crash. */
  {
    const char *keys[] = {"source", "endpoint"};
    const char *values[] = {"imds", endpoint};
    const char *null_key[] = {"source", NULL};
    const char *not_utf8[] = {"imds", "http://127.0.0.1:\xff"};
    uint64_t scratch = 0;
    status = freshcreds_agent_new(keys, values, 2, NULL, &message);
    check_failure("agent_new with a null agent_out", status, FRESHCREDS_STATUS_INVALID_ARGUMENT, &message, NULL);
    status = new_agent(NULL, values, 2, &scratch, &message);
    check_failure("agent_new with null keys", status, FRESHCREDS_STATUS_INVALID_ARGUMENT, &message, NULL);
    status = new_agent(keys, NULL, 2, &scratch, &message);
    check_failure("agent_new with null values", status, FRESHCREDS_STATUS_INVALID_ARGUMENT, &message, NULL);
    status = new_agent(null_key, values, 2, &scratch, &message);
    check_failure("agent_new with a null key string", status, FRESHCREDS_STATUS_INVALID_ARGUMENT, &message, NULL);
    status = new_agent(keys, not_utf8, 2, &scratch, &message);
    check_failure("agent_new with a non-UTF-8 value", status, FRESHCREDS_STATUS_INVALID_ARGUMENT, &message, "UTF-8");
  }
  status = freshcreds_agent_get_credentials(agent, NULL, &message);
  check_failure("get_credentials with a null out", status, FRESHCREDS_STATUS_INVALID_ARGUMENT, &message, NULL);
  status = freshcreds_agent_invalidate(agent, NULL, &message);
  check_failure("invalidate with a null access key", status, FRESHCREDS_STATUS_INVALID_ARGUMENT, &message,
                "access_key_id is null");
  status = freshcreds_agent_invalidate(agent, NULL, NULL);
  check(status == FRESHCREDS_STATUS_INVALID_ARGUMENT, "a null error_out is allowed on failure", "status %s",
        status_name(status));

  /* Bad options: FRESHCREDS_STATUS_INVALID_CONFIGURATION with a message (freed by string_free). */
  {
    const char *typo_keys[] = {"source", "endpiont"};
    const char *typo_values[] = {"imds", endpoint};
    const char *number_keys[] = {"source", "endpoint", "maxAttempts"};
    const char *number_values[] = {"imds", endpoint, "three"};
    const char *source_keys[] = {"source", "endpoint"};
    const char *source_values[] = {"nosuchsource", endpoint};
    const char *empty_source_values[] = {" ", endpoint};
    const char *clock_keys[] = {"source", "endpoint", "clock.scale"};
    const char *clock_values[] = {"imds", endpoint, "600"};
    uint64_t bad = 0;
    status = new_agent(typo_keys, typo_values, 2, &bad, &message);
    check_failure("an unknown option is refused", status, FRESHCREDS_STATUS_INVALID_CONFIGURATION, &message,
                  "unknown option 'endpiont'");
    status = new_agent(number_keys, number_values, 3, &bad, &message);
    check_failure("a non-numeric maxAttempts is refused", status, FRESHCREDS_STATUS_INVALID_CONFIGURATION, &message,
                  "maxAttempts");
    status = new_agent(source_keys, source_values, 2, &bad, &message);
    check_failure("an unknown source is refused", status, FRESHCREDS_STATUS_INVALID_CONFIGURATION, &message,
                  "nosuchsource");
    status = new_agent(source_keys, empty_source_values, 2, &bad, &message);
    check_failure("an empty source is refused", status, FRESHCREDS_STATUS_INVALID_CONFIGURATION, &message, NULL);
    status = new_agent(clock_keys, clock_values, 3, &bad, &message);
    check_failure("clock.scale without clock.originEpochMillis is refused", status, FRESHCREDS_STATUS_INVALID_CONFIGURATION,
                  &message, "clock");
    status = new_agent(typo_keys, typo_values, 2, &bad, NULL);
    check(status == FRESHCREDS_STATUS_INVALID_CONFIGURATION, "bad options with a null error_out", "status %s",
          status_name(status));
  }

  /* An unreachable endpoint: FRESHCREDS_STATUS_CREDENTIALS_UNAVAILABLE naming the endpoint. */
  {
    const char *keys[] = {"source", "endpoint", "imdsDisabled", "maxAttempts", "attemptTimeoutMillis"};
    const char *values[] = {"imds", "http://127.0.0.1:9", "false", "1", "2000"};
    uint64_t down = 0;
    status = new_agent(keys, values, 5, &down, &message);
    take_message(&message);
    check(status == FRESHCREDS_STATUS_OK, "create an agent for a closed port", "status %s (message: %s)", status_name(status),
          last_message);
    clear(&creds);
    status = freshcreds_agent_get_credentials(down, &creds, &message);
    check_failure("a fetch from a closed port is CREDENTIALS_UNAVAILABLE naming the endpoint", status,
                  FRESHCREDS_STATUS_CREDENTIALS_UNAVAILABLE, &message, "http://127.0.0.1:9");
    if (status == FRESHCREDS_STATUS_OK) {
      freshcreds_credentials_free(&creds);
    }
    status = freshcreds_agent_close(down, NULL);
    check(status == FRESHCREDS_STATUS_OK, "close the agent for a closed port", "status %s", status_name(status));
  }

  /* Close; then every call on the handle gives FRESHCREDS_STATUS_CLOSED. */
  {
    uint64_t other = 0;
    const char *keys[] = {"source", "endpoint", "imdsDisabled"};
    const char *values[] = {"imds", endpoint, "false"};
    status = new_agent(keys, values, 3, &other, &message);
    take_message(&message);
    check(status == FRESHCREDS_STATUS_OK && other != agent, "create a second live agent", "status %s (message: %s)",
          status_name(status), last_message);

    status = freshcreds_agent_close(agent, &message);
    take_message(&message);
    check(status == FRESHCREDS_STATUS_OK, "close the agent", "status %s (message: %s)", status_name(status), last_message);
    status = freshcreds_agent_close(agent, &message);
    check_failure("closing twice gives CLOSED", status, FRESHCREDS_STATUS_CLOSED, &message, "closed");
    clear(&creds);
    status = freshcreds_agent_get_credentials(agent, &creds, &message);
    check_failure("get_credentials on a closed handle gives CLOSED", status, FRESHCREDS_STATUS_CLOSED, &message, NULL);
    status = freshcreds_agent_invalidate(agent, first_key, &message);
    check_failure("invalidate on a closed handle gives CLOSED", status, FRESHCREDS_STATUS_CLOSED, &message, NULL);
    status = freshcreds_agent_get_credentials(987654, &creds, NULL);
    check(status == FRESHCREDS_STATUS_CLOSED, "an unknown handle gives CLOSED", "status %s", status_name(status));
    status = freshcreds_agent_close(0, NULL);
    check(status == FRESHCREDS_STATUS_CLOSED, "closing handle 0 (never issued) gives CLOSED", "status %s",
          status_name(status));

    /* Another agent is unaffected by the close. */
    clear(&creds);
    status = freshcreds_agent_get_credentials(other, &creds, &message);
    take_message(&message);
    check(status == FRESHCREDS_STATUS_OK, "the second agent still fetches after the first is closed",
          "status %s (message: %s)", status_name(status), last_message);
    if (status == FRESHCREDS_STATUS_OK) {
      check_credentials("second agent", &creds, expected_key, NULL, 0);
    }
    freshcreds_credentials_free(&creds);
    status = freshcreds_agent_close(other, NULL);
    check(status == FRESHCREDS_STATUS_OK, "close the second agent", "status %s", status_name(status));
  }

  /* The doctor's checks through the C ABI: IMDS on the simulator answers every step. */
  {
    const char *keys[] = {"source", "endpoint"};
    const char *values[] = {"imds", endpoint};
    const char *setting_keys[] = {"json"};
    const char *setting_values[] = {"true"};
    int32_t exit_code = -1;
    char *report = NULL;
    status = freshcreds_doctor(keys, values, 2, setting_keys, setting_values, 1, &exit_code, &report, &message);
    take_message(&message);
    check(status == FRESHCREDS_STATUS_OK && report != NULL, "doctor runs its checks", "status %s (message: %s)",
          status_name(status), last_message);
    check(report != NULL && strstr(report, "\"id\": \"imds.credentials\",\n      \"status\": \"pass\"") != NULL,
          "doctor: the IMDS credentials check passes against the simulator", "report: %.400s", report ? report : "(null)");
    check(exit_code >= 0 && exit_code <= 2, "doctor: the exit code is 0, 1 or 2", "exit code %d", (int)exit_code);
    freshcreds_string_free(report);
    status = freshcreds_doctor(keys, values, 2, NULL, NULL, 0, &exit_code, NULL, &message);
    check_failure("doctor without report_out gives INVALID_ARGUMENT", status, FRESHCREDS_STATUS_INVALID_ARGUMENT,
                  &message, "report_out");
  }

  printf("%d passed, %d failed\n", passed, failed);
  fflush(stdout);
  return failed == 0 ? 0 : 1;
}
