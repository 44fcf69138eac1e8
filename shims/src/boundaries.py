# Run by the leakcheck shim (boundaries.rs) right after it imported test.libregrtest.refleak,
# with these names in its globals:
#   _refleak  the module;  _mark  the shim's marker, _mark(kind, test_name, a, b) -> None;
#   _bracket  the shim's wrapper maker, _bracket(before, target, after) -> a C callable that
#             runs `args, kwargs = before(args, kwargs)`, then `target(*args, **kwargs)`, then
#             `after(raised)` (boundaries.rs says exactly how);
#   _BEGIN, _BASELINE, _MEASURE, _END, _PATCHED, _ERROR, _BLOCKS  the record kinds.
#
# It wraps regrtest's -R driver (runtest_refleak in 3.12+ and late 3.11, dash_R before) so that
# the shim reads its counters at the very point where regrtest takes its own measurement: the
# driver binds `fd_count = os_helper.fd_count` once, before its loop, and calls it right after
# `getallocatedblocks()` and `gettotalrefcount()`. We swap os_helper.fd_count for a measuring
# twin just for that binding, and put the real one back when the first repetition starts, so the
# tests themselves never see the twin.
#
# The wrappers of the driver and of the test function it repeats are C callables (_bracket):
# the functions below run before or after the wrapped call, never around it, so no frame of
# ours is on the stack while a test runs, and tracebacks and faulthandler dumps printed then
# are the ones regrtest prints without leakcheck.
#
# 3.12+ drivers subtract the interned strings created meanwhile from their block count
# (`getallocatedblocks() - getunicodeinternedsize(...)`: CPython frees them at shutdown). The
# twin makes the same call the driver makes and passes the count with the baseline and each
# measurement (-1 when the driver makes none), so that leakcheck can discount them the same way.
#
# Right after `begin`, a `blocks` record passes `sys.getallocatedblocks()`, the count regrtest's
# memory-block check reads: 0 in an interpreter without pymalloc (sanitizer builds), where that
# check sees nothing, and leakcheck's mem and obj counts are the only ones.
#
# Nothing here allocates between measurements beyond what a Python call frame needs: the
# counters live in the shim, and the marker returns None.


def _leakcheck_install(refleak, mark, bracket, BEGIN, BASELINE, MEASURE, END, PATCHED, ERROR, BLOCKS):
    import sys
    from test.support import os_helper

    if getattr(refleak, "_leakcheck_wrapped", None):
        return
    for entry_name in ("runtest_refleak", "dash_R"):
        original = getattr(refleak, entry_name, None)
        if original is not None and hasattr(original, "__code__"):
            break
    else:
        mark(ERROR, "test.libregrtest.refleak has neither runtest_refleak nor dash_R", 0, 0)
        return

    code = original.__code__
    params = code.co_varnames[:code.co_argcount]
    if "test_name" not in params or "test_func" not in params:
        mark(ERROR, "unknown signature: %s%r" % (entry_name, params), 0, 0)
        return
    name_index = params.index("test_name")
    func_index = params.index("test_func")

    interned_size = getattr(sys, "getunicodeinternedsize", None)
    if "getunicodeinternedsize" not in code.co_names:
        interned_size = None
    only_immortal = any(isinstance(c, tuple) and "_only_immortal" in c for c in code.co_consts)

    def interned():
        if interned_size is None:
            return -1
        try:
            return interned_size(_only_immortal=True) if only_immortal else interned_size()
        except Exception:
            return -1

    def counts(bound):
        hunt = bound.get("hunt_refleak")
        if hunt is not None:
            return int(hunt.warmups), int(hunt.runs)
        ns = bound.get("ns")
        huntrleaks = getattr(ns, "huntrleaks", None) or (0, 0)
        return int(huntrleaks[0]), int(huntrleaks[1])

    # The driver call in progress (regrtest runs one test at a time in a process).
    calls = []

    def before_driver(args, kwargs):
        bound = dict(zip(params, args))
        bound.update(kwargs or {})
        test_name = str(bound.get("test_name"))
        warmups, runs = counts(bound)
        real_fd_count = os_helper.fd_count
        taken = [0]
        started = [False]

        def fd_count():
            index = taken[0]
            mark(MEASURE, test_name, index, interned())
            taken[0] = index + 1
            return real_fd_count()

        def before_repetition(args, kwargs):
            if not started[0]:
                started[0] = True
                if os_helper.fd_count is fd_count:
                    os_helper.fd_count = real_fd_count
                mark(BASELINE, test_name, -1, interned())
            return args, kwargs

        test_func = bracket(before_repetition, bound["test_func"], None)
        args = list(args)
        kwargs = dict(kwargs or {})
        if func_index < len(args):
            args[func_index] = test_func
        else:
            kwargs["test_func"] = test_func
        calls.append((test_name, fd_count, real_fd_count, taken))
        mark(BEGIN, test_name, warmups, runs)
        try:
            blocks = int(sys.getallocatedblocks())
        except Exception:
            blocks = -1
        mark(BLOCKS, test_name, blocks, 0)
        os_helper.fd_count = fd_count
        return tuple(args), kwargs

    def after_driver(raised):
        test_name, fd_count, real_fd_count, taken = calls.pop()
        if os_helper.fd_count is fd_count:
            os_helper.fd_count = real_fd_count
        mark(END, test_name, taken[0], 1 if raised else 0)

    setattr(refleak, entry_name, bracket(before_driver, original, after_driver))
    refleak._leakcheck_wrapped = entry_name
    mark(PATCHED, entry_name, name_index, func_index)


_leakcheck_install(_refleak, _mark, _bracket, _BEGIN, _BASELINE, _MEASURE, _END, _PATCHED, _ERROR, _BLOCKS)
