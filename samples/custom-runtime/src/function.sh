# The function of the sample custom runtime, sourced once by ./bootstrap (POSIX sh).
#
# handler EVENT_JSON: prints the response on stdout; logs go to stderr; non-zero status = error.

COLD_START_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"   # module-level code: runs once per environment

handler() {
    echo "request $LAMBDA_REQUEST_ID, event: $1" >&2
    if [ "$1" = '"fail"' ]; then
        echo "asked to fail" >&2
        return 3
    fi
    printf '{"echo": %s, "requestId": "%s", "coldStartAt": "%s"}\n' "$1" "$LAMBDA_REQUEST_ID" "$COLD_START_AT"
}
