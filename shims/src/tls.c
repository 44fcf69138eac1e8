/* The shim's one thread-local variable: a pointer to this thread's tally (tally.rs).
 *
 * It lives in C because Rust (stable) cannot choose a TLS model, and the default for a shared
 * library, general-dynamic, makes every access a call to __tls_get_addr through the PLT: on the
 * allocation hot path that was ~40% of the shim's cost. initial-exec is valid here because the
 * shim is only ever loaded at start-up, through LD_PRELOAD, into the static TLS block.
 */
static __thread void *tally __attribute__((tls_model("initial-exec")));

void *
leakcheck_shim_tally_get(void)
{
    return tally;
}

void
leakcheck_shim_tally_set(void *value)
{
    tally = value;
}
