#!/usr/bin/env python3
"""The tricks that walked through the gate (issue 9), as byte streams, written and never
loaded: `attacks.py --write DIR` writes each as a file and DIR/manifest.jsonl saying what
it does; `tests/security.rs` checks that `artifact check` fails every one with a SEC error
and that CPython's unpickler (globals_oracle.py) agrees with us on what each imports.

`mutations(seed, n)` derives hostile variants of them for the differential oracle run.
"""

import json
import os
import random
import struct
import sys


def sbu(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def p4(body):
    """A protocol-4 stream: PROTO 4, one FRAME around the body, STOP."""
    body = body + b"."
    return b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body


def stack_global(module, name):
    return sbu(module) + sbu(name) + b"\x93"


def call(module, name, *args, proto4=True):
    """module.name(*args) with str arguments."""
    if proto4:
        return stack_global(module, name) + b"(" + b"".join(sbu(a) for a in args) + b"tR"
    return f"c{module}\n{name}\n(".encode() + b"".join(f"V{a}\n".encode() for a in args) + b"tR"


def p0(body):
    return body + b"."


def joblib_wrapper_state(shape, dtype_spelling, pad_byte, data):
    """A fake joblib NumpyArrayWrapper followed by what joblib takes for array bytes."""
    dtype = stack_global("numpy", "dtype") + b"(" + sbu(dtype_spelling) + b"\x89\x88tR" \
        + b"(K\x03" + sbu("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    state = b"}(" + sbu("subclass") + stack_global("numpy", "ndarray") + sbu("shape") + b"(" \
        + b"".join(b"K" + bytes([d]) for d in shape) + b"t" + sbu("order") + sbu("C") + sbu("dtype") + dtype \
        + sbu("allow_mmap") + b"\x89" + sbu("numpy_array_alignment_bytes") + b"K\x10u"
    wrapper = stack_global("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + state + b"b"
    return wrapper, bytes([pad_byte]) + data


def attacks():
    """(file name, what it does, bytes)."""
    out = []
    add = lambda name, what, data: out.append((name, what, data))  # noqa: E731

    # 1. Dotted names under allowed modules, and BUILD installing __setstate__.
    for module, name in [("uuid", "os.system"), ("sklearn", "os.system"), ("xgboost.core", "os.system"),
                         ("enum", "bltns.exec")]:
        add(f"dotted_{module.replace('.', '_')}_{name.replace('.', '_')}.pkl",
            f"STACK_GLOBAL {module} + {name} reaches {name} through module attributes",
            p4(call(module, name, "echo pwned")))
    add("dotted_global_opcode_proto4.pkl", "GLOBAL uuid os.system in a protocol-4 stream (find_class walks dots)",
        b"\x80\x04cuuid\nos.system\n(Vecho pwned\ntR.")
    add("build_setstate_injection.pkl", "BUILD sets __setstate__ to os.system, a second BUILD calls it",
        p4(stack_global("collections", "OrderedDict") + b")R" + b"}" + sbu("__setstate__")
           + stack_global("os", "system") + b"s" + b"b" + sbu("echo pwned") + b"b"))
    # 2. Code-running functions inside allowed modules.
    add("uuid_get_command_stdout.pkl", "uuid._get_command_stdout runs a command",
        p4(call("uuid", "_get_command_stdout", "id")))
    add("numpy_runstring.pkl", "numpy.testing._private.utils.runstring is exec",
        p4(stack_global("numpy.testing._private.utils", "runstring") + b"(" + sbu("import os") + b"}tR"))
    add("sklearn_run_python_script.pkl", "sklearn.utils._testing.assert_run_python_script_without_output",
        p4(call("sklearn.utils._testing", "assert_run_python_script_without_output", "import os")))
    add("numpy_npyio_load.pkl", "numpy.lib._npyio_impl.load(path, allow_pickle=True)",
        p4(stack_global("numpy.lib._npyio_impl", "load") + b"(" + sbu("/tmp/x.npy") + b"\x88tR"))
    add("builtins_dict_get_eval.pkl", "builtins.__dict__.get('eval') then called",
        p4(stack_global("builtins", "__dict__.get") + b"(" + sbu("eval") + b"tR(" + sbu("1+1") + b"tR"))
    # 3. Callables outside the old deny list.
    for module, name in [("pydoc", "locate"), ("pydoc", "pipepager"), ("idlelib.calltip", "get_entity"),
                         ("_osx_support", "_read_output"), ("imaplib", "IMAP4_stream"), ("_io", "open")]:
        add(f"stdlib_{module.strip('_').replace('.', '_')}_{name.strip('_')}.pkl", f"{module}.{name}",
            p4(call(module, name, "x")))
    add("logging_dictconfig_factory.pkl", "logging.config.dictConfig with a () factory",
        p4(stack_global("logging.config", "dictConfig") + b"(}(" + sbu("version") + b"K\x01" + sbu("root") + b"}("
           + sbu("()") + sbu("os.system") + b"uutR"))
    add("python2_simplehttpserver.pkl", "the Python 2 name SimpleHTTPServer (mapped by _compat_pickle)",
        b"cSimpleHTTPServer\ntest\n(tR.")
    # 4. Loaders fed bytes.
    inner = b"cos\nsystem\n(S'echo pwned'\ntR."
    for module, name in [("pandas.io.api", "read_pickle"), ("numpy.lib.format", "read_array"),
                         ("cloudpickle", "loads")]:
        add(f"loader_{module.replace('.', '_')}_{name}.pkl", f"{module}.{name} fed a protocol-0 pickle in bytes",
            p4(stack_global(module, name) + b"(C" + bytes([len(inner)]) + inner + b"tR"))
    add("bytes_protocol0_pickle_unused.pkl", "a protocol-0 pickle without STOP inside a bytes value",
        p4(b"C" + bytes([len(inner) - 1]) + inner[:-1]))
    # 5. EXT codes, partial chains, called cloudpickle-style functions.
    add("ext_after_add_extension.pkl", "copyreg.add_extension then EXT1",
        p4(call("copyreg", "add_extension", "os", "system") [:-2] + b"K\x01tR0" + b"\x82\x01(" + sbu("id") + b"tR"))
    add("ext2_alone.pkl", "EXT2 with no add_extension", b"\x80\x02\x83\x01\x02(X\x02\x00\x00\x00idtR.")
    add("functools_partial_called.pkl", "functools.partial(os.system, 'id') called",
        p4(stack_global("functools", "partial") + b"(" + stack_global("os", "system") + sbu("id") + b"tR)R"))
    add("cloudpickle_function_called.pkl", "a function cloudpickle rebuilds from pickled code, called while loading",
        p4(stack_global("cloudpickle.cloudpickle", "_make_function") + b"(" + stack_global("builtins", "object")
           + b"}NNNtR)R"))
    add("called_built_object.pkl", "the result of a call is called in turn",
        p4(stack_global("builtins", "getattr") + b"(" + stack_global("builtins", "__import__") + b"(" + sbu("os")
           + b"tR" + sbu("system") + b"tR(" + sbu("id") + b"tR"))
    # 6. Joblib array confusion.
    wrapper, tail = joblib_wrapper_state((2,), "f8", 0x63, b"os\nsystem\n(Vecho pwned\ntR" + b"\xff" * 72)
    add("joblib_fake_wrapper_padding.pkl", "pickle.load runs the bytes joblib skips as array padding",
        b"\x80\x04" + wrapper + b"0" + b"c" + tail[1:] + b".")
    # One float64 item is 8 bytes to numpy; a reader that takes the digits of "float64" for
    # the size skips 64, over the payload joblib runs after the real 8.
    payload = b"cos\nsystem\n(Vecho pwned!\ntR0"
    payload += b"N0" * ((56 - len(payload)) // 2)
    wrapper, tail = joblib_wrapper_state((1,), "float64", 0x00, b"\x00" * 8 + payload)
    add("joblib_dtype_float64_spelling.pkl", "dtype('float64', False, True): 8 bytes an item, not 64",
        b"\x80\x04" + wrapper + tail + b".")
    # 7. Protocol-0 payloads followed by what only CPython's C unpickler accepts, or no STOP.
    payload = b"cos\nsystem\n(S'echo pwned'\ntR0"
    for label, tail in [("int_hex", b"I0x1\n."), ("int_underscore", b"I1_0\n."), ("int_space", b"I 7\n."),
                        ("long_hex", b"L0x10L\n."), ("put_underscore", b"Np1_0\n."), ("build_none_on_int", b"K\x01Nb."),
                        ("no_stop", b"N"), ("lying_length", b"T\xff\xff\xff\x7fabc"),
                        ("lying_frame", b"\x95\xff\xff\xff\xff\x00\x00\x00\x00N.")]:
        add(f"p0_payload_then_{label}.dat", f"a protocol-0 payload followed by {label}", payload + tail)
    # Memo games.
    add("memo_stack_global.pkl", "STACK_GLOBAL names taken from memo slots that were overwritten",
        p4(sbu("numpy") + b"\x94" + sbu("dtype") + b"\x94" + sbu("os") + b"r\x00\x00\x00\x00" + sbu("system")
           + b"r\x01\x00\x00\x00" + b"0000" + b"h\x00h\x01\x93(" + sbu("id") + b"tR"))
    return out


def mutations(seed, n):
    """Hostile variants of the attacks: bytes flipped, opcodes spliced, protocol changed."""
    rng = random.Random(seed)
    base = [data for _, _, data in attacks()]
    spellings = [b"I0x1\n", b"I010\n", b"I 1\n", b"I1_0\n", b"L0x10L\n", b"p1_0\n", b"g0\n", b"F1_0.5\n", b"F 1\n",
                 b"\x80\x02", b"\x80\x04", b"\x95\x03\x00\x00\x00\x00\x00\x00\x00", b"cos\nsystem\n", b"N", b"b", b"0",
                 b"(", b"t", b"R", b"\x82\x01", b"\x93", b"\x94", b"h\x00", b"q\x00"]
    out = []
    for _ in range(n):
        data = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            pos = rng.randrange(len(data) + 1)
            if kind < 0.4:
                data[pos:pos] = rng.choice(spellings)
            elif kind < 0.7 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            elif data:
                del data[pos:pos + rng.randint(1, 4)]
        out.append(bytes(data))
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "--write":
        sys.exit("usage: attacks.py --write DIR")
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.jsonl"), "w") as m:
        for name, what, data in attacks():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
            m.write(json.dumps({"file": name, "trick": what, "must": "fail check with a SEC error"}) + "\n")


if __name__ == "__main__":
    main()
