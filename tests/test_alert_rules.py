"""load_alert_config: the [alerts] table of config.toml checked; every problem one line naming
the file and the line; bad rules skipped, the rest kept; durations."""

from __future__ import annotations

import pytest

from nezha_tui.alerts.rule_engine import METRICS
from nezha_tui.alerts.rules import AlertConfig, Rule, load_alert_config, parse_duration

PATH = "/home/u/.config/nezha-tui/config.toml"
ALL_METRICS = ", ".join(METRICS)


def load(text: str) -> tuple[AlertConfig, list[str]]:
    return load_alert_config(text, PATH)


EXAMPLE = """\
default = "home"

[profiles.home]
url = "https://nezha.example.com"

[alerts]
disable = ["expiry"]
quota_percent = 80
expiry_days = 3
notify = "osc777"
on_event = ["notify-send", "nezha"]
hook_timeout = 5
hook_max = 2
log_max_bytes = 1000000

[[alerts.rules]]
name = "hot cpu"
metric = "cpu"          # cpu mem swap ...
above = 90
for = "5m"
servers = "fra-*"

[[alerts.rules]]
metric = "mem"
below = 5.5
group = "Production"
"""


def test_a_full_example():
    config, problems = load(EXAMPLE)
    assert problems == []
    assert config.rules == (
        Rule("hot cpu", "cpu", above=90.0, for_s=300.0, servers="fra-*", line=16),
        Rule("mem below 5.5", "mem", below=5.5, group="Production", line=23),
    )
    assert config.disabled == frozenset({"expiry"}) and not config.enabled("expiry") and config.enabled("offline")
    assert (config.quota_percent, config.expiry_days, config.notify) == (80.0, 3, "osc777")
    assert config.on_event == ("notify-send", "nezha")
    assert (config.hook_timeout, config.hook_max, config.log_max_bytes) == (5.0, 2, 1_000_000)


@pytest.mark.parametrize("text", ["", "default = 'x'\n", "[profiles.a]\nurl = 'https://x'\n", "[alerts]\n"])
def test_no_alerts_table_is_the_defaults(text):
    assert load(text) == (AlertConfig(), [])


def test_the_message_of_the_issue():
    text = "[alerts]\n\n[[alerts.rules]]\nname = \"hot cpu\"\nmetric = \"cpux\"\nabove = 90\n"
    config, problems = load(text)
    assert config.rules == ()
    assert problems == [f"{PATH}:5: alert rule 'hot cpu': unknown metric 'cpux' (one of {ALL_METRICS}); skipped"]


def rules_text(*bodies: str, before: str = "") -> str:
    return before + "".join(f"\n[[alerts.rules]]\n{body}\n" for body in bodies)


GOOD = 'name = "good"\nmetric = "cpu"\nabove = 90'


@pytest.mark.parametrize(("body", "line", "message"), [
    # line numbers: the text is "\n[[alerts.rules]]\n" + body: the header is line 2, the body from line 3
    ('name = "r"\nabove = 1', 2, "alert rule 'r': no metric (one of {metrics}); skipped"),
    ('name = "r"\nmetric = 3\nabove = 1', 4, "alert rule 'r': unknown metric 3 (one of {metrics}); skipped"),
    ('name = "r"\nmetric = "cpu"', 2, "alert rule 'r': needs a threshold: above = N or below = N; skipped"),
    ('name = "r"\nmetric = "cpu"\nabove = 1\nbelow = 2', 6,
     "alert rule 'r': has both above and below (one rule, one threshold: write two rules); skipped"),
    ('name = "r"\nmetric = "cpu"\nabove = "90%"', 5, "alert rule 'r': above must be a number, not '90%'; skipped"),
    ('name = "r"\nmetric = "cpu"\nbelow = true', 5, "alert rule 'r': below must be a number, not True; skipped"),
    ('name = "r"\nmetric = "cpu"\nabove = nan', 5, "alert rule 'r': above must be a number, not nan; skipped"),
    ('name = "r"\nmetric = "cpu"\nabove = 1\nfor = "5 minutes"', 6,
     "alert rule 'r': bad duration for = '5 minutes' (like \"90s\", \"5m\", \"1h30m\" or a number of seconds, "
     "at most 30 days); skipped"),
    ('name = "r"\nmetric = "cpu"\nabove = 1\n"for" = -5', 6,
     "alert rule 'r': bad duration for = -5 (like \"90s\", \"5m\", \"1h30m\" or a number of seconds, "
     "at most 30 days); skipped"),
    ('name = "r"\nmetric = "cpu"\nabove = 1\nservers = ""', 6,
     "alert rule 'r': servers must be a glob on server names, like \"fra-*\", not ''; skipped"),
    ('name = "r"\nmetric = "cpu"\nabove = 1\ngroup = ["a"]', 6,
     "alert rule 'r': group must be a group's name, not ['a']; skipped"),
    ('metric = "cpux"\nabove = 1', 3, "alert rule 1: unknown metric 'cpux' (one of {metrics}); skipped"),
    ('metric = "disk"\nabove = 1\nfor = "x"', 5,
     "alert rule 'disk above 1': bad duration for = 'x' (like \"90s\", \"5m\", \"1h30m\" or a number of seconds, "
     "at most 30 days); skipped"),
])
def test_each_bad_rule_is_one_line_with_its_line_and_is_skipped(body, line, message):
    config, problems = load(rules_text(body, GOOD))
    assert problems == [f"{PATH}:{line}: " + message.format(metrics=ALL_METRICS)]
    assert [r.name for r in config.rules] == ["good"]  # the others are kept


def test_not_a_table_rule():
    config, problems = load("[alerts]\nrules = [3, {metric = 'cpu', above = 1}]\n")
    assert problems == [f"{PATH}:2: alert rule 1: must be a table ([[alerts.rules]]), not 3; skipped"]
    assert [r.name for r in config.rules] == ["cpu above 1"]


def test_inline_rules_take_the_line_of_rules():
    config, problems = load("[alerts]\nnotify = 'off'\nrules = [{metric = 'cpu', above = 1}, {metric = 'x', above = 1}]\n")
    assert problems == [f"{PATH}:3: alert rule 2: unknown metric 'x' (one of {ALL_METRICS}); skipped"]
    assert config.rules[0].line == 3


def test_unknown_keys_are_typo_help_not_fatal():
    text = "[alerts]\nnotfy = 'osc9'\nsomething = 1\n" + rules_text(GOOD + '\nfro = "5m"')
    config, problems = load(text)
    assert problems == [
        f"{PATH}:2: unknown key 'notfy' in [alerts] (did you mean 'notify'?)",
        f"{PATH}:3: unknown key 'something' in [alerts] (known: rules, disable, quota_percent, expiry_days, "
        "notify, on_event, hook_timeout, hook_max, log_max_bytes)",
        f"{PATH}:9: alert rule 'good': unknown key 'fro' (did you mean 'for'?)",
    ]
    assert [r.name for r in config.rules] == ["good"] and config.rules[0].for_s == 0
    assert config.notify == "off" and config.extra == {"notfy": "osc9", "something": 1}


@pytest.mark.parametrize(("setting", "message"), [
    ('disable = ["expiry", "offlin"]', "[alerts] disable: unknown built-in rule 'offlin' "
                                        "(one of offline, service_down, quota, expiry)"),
    ("disable = 3", "[alerts] disable: must be a list of built-in rule names (offline, service_down, quota, "
                    "expiry), not 3"),
    ("quota_percent = 0", "[alerts] quota_percent: must be a percentage above 0 (like 90), not 0"),
    ('quota_percent = "90%"', "[alerts] quota_percent: must be a percentage above 0 (like 90), not '90%'"),
    ("expiry_days = 2.5", "[alerts] expiry_days: must be a whole number of days from 0 to 3650, not 2.5"),
    ("expiry_days = -1", "[alerts] expiry_days: must be a whole number of days from 0 to 3650, not -1"),
    ('notify = "bell"', "[alerts] notify: must be one of 'off', 'osc777', 'osc9', 'osc99', not 'bell'"),
    ('on_event = "notify-send nezha"', '[alerts] on_event: must be a command as a list of strings, like '
                                       '["notify-send", "nezha"] (never run through a shell), not '
                                       "'notify-send nezha'"),
    ("on_event = []", '[alerts] on_event: must be a command as a list of strings, like ["notify-send", '
                      '"nezha"] (never run through a shell), not []'),
    ('on_event = ["", "x"]', '[alerts] on_event: must be a command as a list of strings, like ["notify-send", '
                             "\"nezha\"] (never run through a shell), not ['', 'x']"),
    ("on_event = ['a', 1]", '[alerts] on_event: must be a command as a list of strings, like ["notify-send", '
                            "\"nezha\"] (never run through a shell), not ['a', 1]"),
    ("hook_timeout = 0", "[alerts] hook_timeout: must be seconds from 0 to 3600 (like 10), not 0"),
    ("hook_max = 0", "[alerts] hook_max: must be a whole number from 1 to 64, not 0"),
    ("hook_max = true", "[alerts] hook_max: must be a whole number from 1 to 64, not True"),
    ("log_max_bytes = 10", "[alerts] log_max_bytes: must be a whole number of bytes, at least 10000 "
                           "(like 5000000), not 10"),
])
def test_each_bad_setting_is_one_line_and_keeps_its_default(setting, message):
    config, problems = load(f"[alerts]\nnotify = 'osc9'\n{setting}\n" if not setting.startswith("notify")
                            else f"[alerts]\nexpiry_days = 1\n{setting}\n")
    assert problems == [f"{PATH}:3: {message}"]
    key = setting.split(" ")[0]
    field = "disabled" if key == "disable" else key
    assert getattr(config, field) == getattr(AlertConfig(), field)


def test_settings_as_dotted_keys_find_their_line():
    _, problems = load('default = "x"\nalerts.notify = "bell"\n')
    assert problems == [f"{PATH}:2: [alerts] notify: must be one of 'off', 'osc777', 'osc9', 'osc99', not 'bell'"]


def test_alerts_must_be_a_table():
    assert load('x = 1\nalerts = 3\n') == (AlertConfig(), [f"{PATH}:2: [alerts] must be a table; alert settings not read"])
    assert load("[alerts]\nrules = 3\n")[1] == [
        f"{PATH}:2: [alerts] rules must be an array of tables ([[alerts.rules]]); no rule read"]


def test_bad_toml_is_one_line_with_its_line():
    config, problems = load('[alerts]\nnotify = "osc9"\nbad line\n')
    assert config == AlertConfig()
    assert len(problems) == 1 and problems[0].startswith(f"{PATH}:3: not valid TOML (")
    assert problems[0].endswith("): alert rules and settings not read")


def test_default_names_and_duplicates():
    text = rules_text('metric = "cpu"\nabove = 90', 'metric = "load1"\nbelow = 0.25',
                      'name = "cpu above 90"\nmetric = "cpu"\nabove = 95', 'metric = "cpu"\nabove = 90.0\nfor = 60',
                      'metric = "net_in_speed"\nabove = 1e8')
    config, problems = load(text)
    assert [r.name for r in config.rules] == ["cpu above 90", "load1 below 0.25", "cpu above 90 (2)",
                                              "cpu above 90 (3)", "net_in_speed above 1e+08"]
    assert problems == [
        f"{PATH}:10: alert rule 'cpu above 90': the rule at line 2 has this name too; this one is called "
        "'cpu above 90 (2)'",
        f"{PATH}:15: alert rule 'cpu above 90': the rule at line 2 has this name too; this one is called "
        "'cpu above 90 (3)'",
    ]


def test_names_are_made_safe_and_short():
    config, problems = load(rules_text('name = "evil\\u001b]52;c;aGk=\\u0007name"\nmetric = "cpu"\nabove = 1',
                                       f'name = "{"x" * 200}"\nmetric = "cpu"\nabove = 1',
                                       'name = "  "\nmetric = "cpu"\nabove = 2'))
    first, second, third = config.rules
    assert "\x1b" not in first.name and "\x07" not in first.name and first.name.startswith("evil")
    assert len(second.name) == 80 and second.name.endswith("…")
    assert third.name == "cpu above 2"
    assert problems == [f"{PATH}:13: alert rule 3: name must be a non-empty string, not '  '; called 'cpu above 2'"]


def test_a_hostile_value_in_a_message_is_shown_inert():
    _, problems = load(rules_text('name = "r"\nmetric = "\\u001b[2Jcpu"\nabove = 1'))
    assert len(problems) == 1 and "\x1b" not in problems[0]


def test_both_servers_and_group_are_kept():
    config, _ = load(rules_text('metric = "cpu"\nabove = 1\nservers = " web-* "\ngroup = "prod"'))
    assert (config.rules[0].servers, config.rules[0].group) == ("web-*", "prod")


@pytest.mark.parametrize(("value", "seconds"), [
    ("90s", 90.0), ("5m", 300.0), ("1h", 3600.0), ("1h30m", 5400.0), ("1h 30m", 5400.0), ("2d", 172800.0),
    ("1d2h3m4s", 93784.0), ("0.5m", 30.0), ("90", 90.0), (" 45 ", 45.0), ("5M", 300.0), (90, 90.0), (1.5, 1.5),
    (0, 0.0), ("0s", 0.0), ("30d", 2_592_000.0),
])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [
    "", "5 minutes", "m", "1x", "1h1h", "-5s", -1, "31d", 31 * 86400, float("inf"), float("nan"), True, None,
    [], "1h-30m", "5m junk",
])
def test_bad_durations(value):
    assert parse_duration(value) is None


@pytest.mark.parametrize("text", [
    "[alerts]\nrules = [[]]\n", "[[alerts.rules]]\n", "[alerts]\ndisable = [1, 2]\n", "[alerts.rules]\nx = 1\n",
    "[alerts]\nrules = [{name = {a = 1}}]\n", "alerts = []\n", "[alerts]\non_event = [[1]]\n",
    "[[alerts.rules]]\nmetric = 'cpu'\nabove = 1e400\n", "[alerts]\n" + "x = 1\n" * 3,
])
def test_odd_tables_never_raise(text):
    config, problems = load(text)
    assert isinstance(config, AlertConfig) and problems
    assert all(p.startswith(PATH) and "\n" not in p for p in problems)
