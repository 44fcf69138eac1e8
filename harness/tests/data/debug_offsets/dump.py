import ctypes, sys
addr = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
n = int(sys.argv[1])
data = ctypes.string_at(addr, n)
print(sys.version.split()[0], file=sys.stderr)
sys.stdout.write(data.hex())
