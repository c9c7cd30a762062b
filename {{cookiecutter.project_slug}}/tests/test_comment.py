import json
import os
import stat
from argparse import Namespace
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.commands.comment import (
    MARKER,
    MAX_BODY,
    TITLE,
    cml_command,
    comment_body,
    find_marked,
)
from {{ cookiecutter.package_name }}.commands.comment import run as run_comment
from {{ cookiecutter.package_name }}.errors import ParamsError, ProjectError
from {{ cookiecutter.package_name }}.integrations.github import PullRequest, next_page
from {{ cookiecutter.package_name }}.params import load_params


def test_next_page_follows_the_link_header():
    link = '<https://api.example/x?page=2>; rel="next", <https://api.example/x?page=5>; rel="last"'
    assert next_page(link) == "https://api.example/x?page=2"
    assert next_page('<https://api.example/x?page=1>; rel="prev"') is None
    assert next_page(None) is None


def test_the_newest_marked_comment_is_the_one_to_update():
    comments = [
        {"id": 1, "body": f"a\n{MARKER}"},
        {"id": 2, "body": "b"},
        {"id": 3, "body": MARKER},
    ]
    assert find_marked(comments)["id"] == 3
    assert find_marked([{"id": 1, "body": None}]) is None


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


def test_cml_updates_one_comment_without_publishing_images(write_params, tmp_path, monkeypatch):
    """A stand-in `cml` on PATH records how it is called."""
    params = load_params(write_params(report={"poster": "cml"}))
    params.paths.report.write_text("## ✅ passed\n")
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "bin" / "cml"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@ $ITERATIVE_DO_NOT_TRACK" > {calls}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    assert run_comment(params, Namespace(poster=None, report=None)) == 0
    assert calls.read_text().split() == [
        "comment",
        "update",
        f"--watermark-title={TITLE.split()[0]}",
        *TITLE.split()[1:],
        "--publish=false",
        str(params.paths.report),
        "1",
    ]


def test_an_unknown_poster_is_named(write_params):
    with pytest.raises(ParamsError, match=r"`report.poster` is 'gitlab'"):
        load_params(write_params(report={"poster": "gitlab"}))


def test_cml_publishes_images_only_when_asked():
    assert "--publish=false" in cml_command(Path("report.md"), publish_images=False)
    assert "--publish=true" in cml_command(Path("report.md"), publish_images=True)


def test_publishing_images_needs_cml(write_params):
    with pytest.raises(ParamsError, match=r"report\.publish_images"):
        load_params(write_params(report={"poster": "builtin", "publish_images": True}))


def test_a_missing_report_says_what_to_run(write_params):
    params = load_params(write_params())
    with pytest.raises(ProjectError, match="run `mlops report` first"):
        run_comment(params, Namespace(poster="builtin", report=None))
