"""The CLI turns every failure into one line on stderr and a non-zero exit."""

import subprocess
import sys


def test_unknown_command_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "analysis.cli", "no-such-command"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_review_error_is_one_line(monkeypatch, capsys):
    from analysis import cli
    from analysis.errors import InputError

    class Fake:
        @staticmethod
        def add_arguments(parser):
            pass

        @staticmethod
        def run(args):
            raise InputError("studies.csv:3:design: not an allowed value (RCTX)")

    monkeypatch.setitem(sys.modules, "analysis.fake_cmd", Fake)
    monkeypatch.setitem(cli.COMMANDS, "fake", ("analysis.fake_cmd", "test"))
    assert cli.main(["fake"]) == 1
    err = capsys.readouterr().err
    assert err == "review fake: studies.csv:3:design: not an allowed value (RCTX)\n"



def test_closed_pipe_is_not_an_error(monkeypatch, capsys):
    # `review ledger | head -1`: the reader leaves early; no traceback, no error line
    from analysis import cli

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    class Printer:
        @staticmethod
        def add_arguments(parser):
            pass

        @staticmethod
        def run(args):
            print("| Claim |")
            return 0

    monkeypatch.setitem(sys.modules, "analysis.printer_cmd", Printer)
    monkeypatch.setitem(cli.COMMANDS, "printer", ("analysis.printer_cmd", "test"))
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["printer"]) == 0
    assert capsys.readouterr().err == ""
