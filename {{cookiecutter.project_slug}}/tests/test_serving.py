"""The smoke test against real HTTP servers on loopback: a good, a wrong and a dead one."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from {{ cookiecutter.package_name }}.integrations.serving import (
    SmokeTestError,
    check_predictions,
    example_rows,
    free_port,
    served,
    smoke_test,
)

EXAMPLE = {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4], [5, 6]]}}


def test_rows_of_every_input_format():
    assert example_rows(EXAMPLE) == 3
    assert example_rows({"dataframe_records": [{"a": 1}, {"a": 2}]}) == 2
    assert example_rows({"inputs": {"a": [1, 2, 3, 4]}}) == 4
    with pytest.raises(SmokeTestError, match="none of MLflow's input keys"):
        example_rows({"rows": []})


def test_one_prediction_per_row_is_required():
    assert check_predictions({"predictions": [0, 1, 0]}, 3) == [0, 1, 0]
    with pytest.raises(SmokeTestError, match="answered 2 predictions for 3 input rows"):
        check_predictions({"predictions": [0, 1]}, 3)
    with pytest.raises(SmokeTestError, match="no list of predictions"):
        check_predictions({"error": "boom"}, 3)


@pytest.fixture
def model_server():
    """A stand-in model server answering `answer(rows)`; started and stopped by the test."""
    state = {"answer": lambda rows: {"predictions": [0.5] * rows}, "requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["requests"].append((self.path, body))
            payload = json.dumps(state["answer"](example_rows(body))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def test_smoke_test_posts_the_example_and_checks_the_answer(tmp_path, model_server):
    example = tmp_path / "serving_input_example.json"
    example.write_text(json.dumps(EXAMPLE))
    assert smoke_test(model_server["url"], example) == [0.5, 0.5, 0.5]
    assert model_server["requests"] == [("/invocations", EXAMPLE)]

    model_server["answer"] = lambda rows: {"predictions": [1.0]}
    with pytest.raises(SmokeTestError, match="answered 1 predictions for 3 input rows"):
        smoke_test(model_server["url"], example)


def test_smoke_test_of_a_missing_example_or_a_dead_url(tmp_path, model_server):
    with pytest.raises(SmokeTestError, match="is missing"):
        smoke_test(model_server["url"], tmp_path / "none.json")
    example = tmp_path / "example.json"
    example.write_text(json.dumps(EXAMPLE))
    with pytest.raises(SmokeTestError, match="could not reach"):
        smoke_test(f"http://127.0.0.1:{free_port()}", example, timeout=5)
    with pytest.raises(SmokeTestError, match="'not a url' is not an http:// or https://"):
        smoke_test("not a url", example)


def test_a_model_that_cannot_be_served_is_refused(tmp_path):
    with (
        pytest.raises(SmokeTestError, match="exited with"),
        served(str(tmp_path / "no-model"), timeout=120),
    ):
        pytest.fail("an unservable model must not reach the smoke test")
