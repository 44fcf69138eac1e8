# Run by the leakcheck shim (boundaries.rs) right after it imported test.libregrtest.refleak,
# with these names in its globals:
#   _refleak  the module;  _mark  the shim's marker, _mark(kind, test_name, a, b) -> None;
#   _BEGIN, _BASELINE, _MEASURE, _END, _PATCHED, _ERROR  the record kinds.
#
# It wraps regrtest's -R driver (runtest_refleak in 3.12+ and late 3.11, dash_R before) so that
# the shim reads its counters at the very point where regrtest takes its own measurement: the
# driver binds `fd_count = os_helper.fd_count` once, before its loop, and calls it right after
# `getallocatedblocks()` and `gettotalrefcount()`. We swap os_helper.fd_count for a measuring
# twin just for that binding, and put the real one back when the first repetition starts, so the
# tests themselves never see the twin.
#
# Nothing here allocates between measurements beyond what a Python call frame needs: the
# counters live in the shim, and the marker returns None.


def _leakcheck_install(refleak, mark, BEGIN, BASELINE, MEASURE, END, PATCHED, ERROR):
    from test.support import os_helper

    for entry_name in ("runtest_refleak", "dash_R"):
        original = getattr(refleak, entry_name, None)
        if original is not None and hasattr(original, "__code__"):
            break
    else:
        mark(ERROR, "test.libregrtest.refleak has neither runtest_refleak nor dash_R", 0, 0)
        return
    if getattr(original, "__leakcheck__", False):
        return

    code = original.__code__
    params = code.co_varnames[:code.co_argcount]
    if "test_name" not in params or "test_func" not in params:
        mark(ERROR, "unknown signature: %s%r" % (entry_name, params), 0, 0)
        return
    name_index = params.index("test_name")
    func_index = params.index("test_func")

    def counts(bound):
        hunt = bound.get("hunt_refleak")
        if hunt is not None:
            return int(hunt.warmups), int(hunt.runs)
        ns = bound.get("ns")
        huntrleaks = getattr(ns, "huntrleaks", None) or (0, 0)
        return int(huntrleaks[0]), int(huntrleaks[1])

    def leakcheck_refleak(*args, **kwargs):
        args = list(args)
        bound = dict(zip(params, args))
        bound.update(kwargs)
        test_name = str(bound.get("test_name"))
        warmups, runs = counts(bound)
        real_fd_count = os_helper.fd_count
        real_test_func = bound["test_func"]
        taken = [0]
        started = [False]

        def fd_count():
            index = taken[0]
            mark(MEASURE, test_name, index, 0)
            taken[0] = index + 1
            return real_fd_count()

        def test_func():
            if not started[0]:
                started[0] = True
                if os_helper.fd_count is fd_count:
                    os_helper.fd_count = real_fd_count
                mark(BASELINE, test_name, -1, 0)
            return real_test_func()

        if func_index < len(args):
            args[func_index] = test_func
        else:
            kwargs["test_func"] = test_func
        mark(BEGIN, test_name, warmups, runs)
        os_helper.fd_count = fd_count
        aborted = 1
        try:
            result = original(*args, **kwargs)
            aborted = 0
            return result
        finally:
            if os_helper.fd_count is fd_count:
                os_helper.fd_count = real_fd_count
            mark(END, test_name, taken[0], aborted)

    leakcheck_refleak.__name__ = original.__name__
    leakcheck_refleak.__qualname__ = original.__qualname__
    leakcheck_refleak.__doc__ = original.__doc__
    leakcheck_refleak.__wrapped__ = original
    leakcheck_refleak.__leakcheck__ = True
    setattr(refleak, entry_name, leakcheck_refleak)
    mark(PATCHED, entry_name, name_index, func_index)


_leakcheck_install(_refleak, _mark, _BEGIN, _BASELINE, _MEASURE, _END, _PATCHED, _ERROR)
