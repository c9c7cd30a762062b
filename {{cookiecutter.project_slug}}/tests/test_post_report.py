import json
import os
import stat

import pytest

from {{ cookiecutter.package_name }}.commands.post_report import (
    MARKER,
    MAX_BODY,
    Options,
    comment_body,
    condensed,
    find_marked,
    local_images,
    publish_images,
)
from {{ cookiecutter.package_name }}.commands.post_report import run as run_post_report
from {{ cookiecutter.package_name }}.errors import ParamsError, ProjectError
from {{ cookiecutter.package_name }}.integrations.github import PullRequest, next_page, refusal
from {{ cookiecutter.package_name }}.params import load_params


def test_next_page_follows_the_link_header():
    link = '<https://api.example/x?page=2>; rel="next", <https://api.example/x?page=5>; rel="last"'
    assert next_page(link) == "https://api.example/x?page=2"
    assert next_page('<https://api.example/x?page=1>; rel="prev"') is None
    assert next_page(None) is None


BOT = {"login": "github-actions[bot]"}


def test_the_newest_marked_comment_is_the_one_to_update():
    comments = [
        {"id": 1, "body": f"a\n{MARKER}", "user": BOT},
        {"id": 2, "body": "b", "user": BOT},
        {"id": 3, "body": MARKER, "user": BOT},
    ]
    assert find_marked(comments, BOT["login"])["id"] == 3
    assert find_marked([{"id": 1, "body": None, "user": BOT}], BOT["login"]) is None


def test_a_marked_comment_by_anyone_else_is_never_the_report():
    comments = [
        {"id": 1, "body": MARKER, "user": BOT},
        {"id": 2, "body": f"mine now\n{MARKER}", "user": {"login": "mallory"}},
        {"id": 3, "body": MARKER},
    ]
    assert find_marked(comments, BOT["login"])["id"] == 1
    assert find_marked(comments[1:], BOT["login"]) is None


def test_a_report_an_earlier_cml_poster_wrote_is_found_too():
    watermark = '![](https://cml.dev/watermark.png#0a1b "CML watermark mlops report")'
    comments = [
        {"id": 1, "body": f"## old\n\n{watermark}", "user": BOT},
        {"id": 2, "body": "reply", "user": BOT},
    ]
    assert find_marked(comments, BOT["login"])["id"] == 1


def test_the_body_keeps_the_verdict_first_and_fits_github():
    body = comment_body("## ✅ passed\n")
    assert body.startswith("## ✅ passed") and body.rstrip().endswith(MARKER)
    long = comment_body("x" * 100_000)
    assert len(long) <= MAX_BODY and "truncated" in long and MARKER in long


def event(tmp_path, payload):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_pull_request_comes_from_the_actions_environment(tmp_path):
    env = {
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": "octo/model",
        "GITHUB_EVENT_PATH": event(tmp_path, {"pull_request": {"number": 7}}),
    }
    pr = PullRequest.from_env(env)
    assert pr.comments_url == "https://api.github.com/repos/octo/model/issues/7/comments"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"GITHUB_TOKEN": ""}, "GITHUB_TOKEN is not set"),
        ({"GITHUB_REPOSITORY": "no-slash"}, "not OWNER/NAME"),
        ({"GITHUB_EVENT_PATH": "/nonexistent"}, "is not a readable event file"),
        ({"GITHUB_API_URL": "ftp://x"}, "is not an http(s) URL"),
    ],
)
def test_a_bad_environment_is_named(tmp_path, change, message):
    env = {
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": "octo/model",
        "GITHUB_EVENT_PATH": event(tmp_path, {"pull_request": {"number": 7}}),
        **change,
    }
    with pytest.raises(ProjectError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PullRequest.from_env(env)


def test_a_push_event_is_refused(tmp_path):
    env = {"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "o/r"}
    env["GITHUB_EVENT_PATH"] = event(tmp_path, {})
    with pytest.raises(ProjectError, match="pull_request` events only"):
        PullRequest.from_env(env)


def pull_request(tmp_path):
    return PullRequest("https://api.example", "octo/model", 7, "t")


def fake_cml(tmp_path, script: str) -> dict[str, str]:
    """A stand-in `cml` on PATH; returns the environment that finds it."""
    fake = tmp_path / "bin" / "cml"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}


def test_cml_uploads_only_the_local_images_and_changes_nothing_else(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "f1.png").write_bytes(b"png")
    report = (
        "## ✅ passed\n\n> [!WARNING]\n> gates changed\n\n| a_b | *c* |\n|---|---|\n"
        "![f1](plots/f1.png) ![web](https://x.example/y.png) ![gone](plots/none.png)\n"
    )
    assert local_images(report, tmp_path) == ["plots/f1.png"]
    calls = tmp_path / "calls.txt"
    env = fake_cml(
        tmp_path, f'echo "$@ $ITERATIVE_DO_NOT_TRACK" >> {calls}; echo https://asset.example/1'
    )
    published = publish_images(report, tmp_path, pull_request(tmp_path), env)
    assert published == report.replace("(plots/f1.png)", "(https://asset.example/1)")
    assert calls.read_text().split() == [
        "asset",
        "publish",
        "--mime-type=image/png",
        "--repo=https://github.com/octo/model",
        str(tmp_path / "plots" / "f1.png"),
        "1",
    ]


def test_a_failed_upload_is_one_short_line(tmp_path):
    (tmp_path / "f1.png").write_bytes(b"png")
    huge = json.dumps(
        {"level": "error", "message": "unhandledRejection: boom\nstack", "x": "y" * 9000}
    )
    env = fake_cml(tmp_path, f"printf '%s\\n' '{huge}' >&2; exit 7")
    with pytest.raises(ProjectError) as raised:
        publish_images("![f1](f1.png)", tmp_path, pull_request(tmp_path), env)
    message = str(raised.value)
    assert "exit 7: unhandledRejection: boom" in message and "\n" not in message
    assert "report.publish_images: false" in message and len(message) < 600
    assert condensed("") == "no output"


def test_refusals_say_what_the_status_means():
    pr = pull_request(None)
    assert "fork" in str(refusal(pr, 403, "POST: Resource not accessible by integration"))
    assert "pull-requests: write" in str(refusal(pr, 403, "POST: x"))
    assert "token is missing, expired or wrong" in str(refusal(pr, 401, "GET: Bad credentials"))
    assert "not found" in str(refusal(pr, 404, "GET: Not Found"))
    assert "could not be reached" in str(refusal(pr, None, "GET: refused"))
    assert "HTTP 500" in str(refusal(pr, 500, "GET: oops"))


def test_an_unknown_poster_is_named(write_params):
    with pytest.raises(ParamsError, match=r"`report.poster` is 'gitlab'"):
        load_params(write_params(report={"poster": "gitlab"}))


def test_publishing_images_needs_cml(write_params):
    with pytest.raises(ParamsError, match=r"report\.publish_images"):
        load_params(write_params(report={"poster": "builtin", "publish_images": True}))


def test_a_missing_report_says_what_to_run(write_params):
    params = load_params(write_params())
    with pytest.raises(ProjectError, match="run `mlops report` first"):
        run_post_report(params, Options(poster="builtin", report=None))
