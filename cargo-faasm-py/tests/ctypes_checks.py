"""ctypes inside python.wasm: the type system works, foreign calls and
callbacks are refused with a reason. Prints one JSON object; the Rust test
compares the layouts with what the C compiler for wasm32 gives."""
import ctypes
import json
import sys

import numpy as np

out = {}


class Inner(ctypes.Structure):
    _fields_ = [("c", ctypes.c_char), ("d", ctypes.c_double)]


class Mixed(ctypes.Structure):
    _fields_ = [
        ("a", ctypes.c_char),
        ("b", ctypes.c_double),
        ("c", ctypes.c_short),
        ("d", ctypes.c_longlong),
        ("e", ctypes.c_float),
        ("f", ctypes.c_void_p),
        ("g", ctypes.c_ubyte * 3),
        ("h", Inner),
        ("i", ctypes.c_long),
        ("j", ctypes.c_longdouble),
        ("k", ctypes.c_wchar),
        ("l", ctypes.c_size_t),
        ("m", ctypes.c_bool),
    ]


class Packed(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("a", ctypes.c_char), ("b", ctypes.c_int), ("c", ctypes.c_short)]


class Either(ctypes.Union):
    _fields_ = [("i", ctypes.c_int), ("d", ctypes.c_double), ("s", ctypes.c_char * 13)]


def layout(t):
    fields = [name for name, *_ in getattr(t, "_fields_", [])]
    return [ctypes.sizeof(t), ctypes.alignment(t)] + [getattr(t, f).offset for f in fields]


out["layout"] = {
    "Mixed": layout(Mixed),
    "Packed": layout(Packed),
    "Either": layout(Either),
    "fundamental": [
        [ctypes.sizeof(t), ctypes.alignment(t)]
        for t in (
            ctypes.c_char, ctypes.c_short, ctypes.c_int, ctypes.c_long, ctypes.c_longlong,
            ctypes.c_float, ctypes.c_double, ctypes.c_longdouble, ctypes.c_void_p,
            ctypes.c_size_t, ctypes.c_wchar, ctypes.c_bool,
        )
    ],
}

# Memory: arrays, pointers, addressof/byref/cast, from_buffer, and ctypes'
# own helpers, which are calls through ffi_call.
buf = (ctypes.c_double * 4)(1.5, 2.5, 3.5, 4.5)
p = ctypes.cast(buf, ctypes.POINTER(ctypes.c_double))
dst = (ctypes.c_double * 4)()
ctypes.memmove(dst, buf, ctypes.sizeof(buf))
raw = ctypes.create_string_buffer(8)
ctypes.memset(raw, ord("x"), 5)
ba = bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")
ints = (ctypes.c_int32 * 2).from_buffer(ba)
ints[1] = 7
m = Mixed(b"q", 2.0)
m.h.d = 9.25
out["memory"] = {
    "pointer": [p[0], p[3]],
    "memmove": list(dst),
    "memset": ctypes.string_at(raw, 6).decode(),
    "from_buffer": [ints[0], ints[1], list(ba)],
    "addressof": ctypes.addressof(buf) == ctypes.cast(buf, ctypes.c_void_p).value,
    "byref": ctypes.cast(ctypes.pointer(m), ctypes.c_void_p).value == ctypes.addressof(m),
    "nested": [m.a.decode(), m.b, m.h.d],
    "wstring_at": ctypes.wstring_at(ctypes.create_unicode_buffer("wasm"), 4),
}

# numpy: ndarray.ctypes and np.ctypeslib both ways.
a = np.arange(6, dtype=np.float64).reshape(2, 3)
back = np.ctypeslib.as_array(np.ctypeslib.as_ctypes(a))
via_pointer = np.ctypeslib.as_array(a.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), shape=(6,))
out["numpy"] = {
    "issue": [ctypes.sizeof(ctypes.c_long), float(np.ctypeslib.as_array((ctypes.c_double * 3)(1, 2, 3)).sum())],
    "round_trip": back.tolist(),
    "shares_memory": bool(np.shares_memory(back, a)),
    "data_as": via_pointer.tolist(),
    "data": a.ctypes.data == a.__array_interface__["data"][0],
    "as_ctypes_type": ctypes.sizeof(np.ctypeslib.as_ctypes_type(np.dtype([("x", "<i2"), ("y", "<f8")]))),
}


def refused(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001 - the type is what is checked
        return [type(e).__name__, str(e)]
    return None


abs_type = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)
out["refused"] = {
    "CDLL(libc)": refused(lambda: ctypes.CDLL("libc.so.6")),
    "LoadLibrary": refused(lambda: ctypes.cdll.LoadLibrary("libm.so.6")),
    "CDLL(None).abs": refused(lambda: ctypes.CDLL(None).abs),
    "pythonapi": refused(lambda: ctypes.pythonapi.Py_GetVersion),
    "call": refused(lambda: abs_type(ctypes.cast(ctypes.memmove, ctypes.c_void_p).value)(-1.0)),
    "too_many_arguments": refused(lambda: ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.cast(ctypes.memset, ctypes.c_void_p).value)(1, 2, 3, 4, 5, 6, 7)),
    "callback": refused(lambda: ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x)),
}
out["platform"] = sys.platform
print(json.dumps(out))
