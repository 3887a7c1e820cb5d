"""`zkmips`: execute MIPS programs, print image ids and prover parameters.

Every failure is reported as one line on stderr (``zkmips: error: ...``) with exit
status 125, so that it cannot be mistaken for the guest's own exit code; ``--debug``
shows the Python traceback instead. Usage errors exit with status 2 (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

ERROR_EXIT = 125


class CliError(Exception):
    """A user-facing failure: printed as one line."""


def _read_file(path: str | None, label: str) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {label} {path}: {e.strerror}") from None


def _load_program(path: str):
    import vm
    data = _read_file(path, "program")
    return vm.load_elf(data, name=path.rsplit("/", 1)[-1])


def cmd_execute(args: argparse.Namespace) -> int:
    import vm
    program = _load_program(args.program)
    public = _read_file(args.input, "input")
    if public is None:
        public = sys.stdin.buffer.read() if sys.stdin is not None else b""
    private = _read_file(args.private_input, "private input") or b""
    result = vm.execute(program, public, private, max_cycles=args.max_cycles)
    if args.json:
        print(json.dumps({
            "exit_code": result.exit_code,
            "cycles": result.cycles,
            "journal": result.journal.hex(),
            "image_id": vm.image_id(program).hex(),
            "seconds": round(result.seconds, 6),
        }))
        return 0
    sys.stdout.buffer.write(result.journal)
    sys.stdout.flush()
    sys.stderr.buffer.write(result.log)
    sys.stderr.flush()
    return result.exit_code


def cmd_image_id(args: argparse.Namespace) -> int:
    import vm
    print(vm.image_id(_load_program(args.program)).hex())
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from prover import security
    report = security.params_report(security.DEFAULT)
    if args.json:
        print(json.dumps(report))
    else:
        width = max(len(k) for k in report)
        for key, value in report.items():
            print(f"{key:<{width}}  {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zkmips", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("execute", help="run a MIPS ELF program (no proof)")
    p.add_argument("program", help="static little-endian MIPS32 ELF executable")
    p.add_argument("--input", metavar="FILE", help="public input (fd 0); default: standard input")
    p.add_argument("--private-input", metavar="FILE", help="private input (fd 3)")
    p.add_argument("--max-cycles", type=int, metavar="N", help="stop with an error after N cycles")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the journal")
    p.set_defaults(func=cmd_execute)

    p = sub.add_parser("image-id", help="print the program's image id")
    p.add_argument("program")
    p.set_defaults(func=cmd_image_id)

    p = sub.add_parser("params", help="print the prover's soundness parameters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_params)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("zkmips: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return ERROR_EXIT
    except Exception as e:  # every failure becomes one line unless --debug
        if args.debug:
            raise
        from vm.errors import VMError
        message = str(e) if isinstance(e, (CliError, VMError)) else f"{type(e).__name__}: {e}"
        print(f"zkmips: error: {message.splitlines()[0] if message else type(e).__name__}", file=sys.stderr)
        return ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main())
