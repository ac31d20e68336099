"""Online A/B: experiment files, hash assignment, per-arm analysis (scipy as the oracle), MLflow, CLI and chat."""

import json
from collections import Counter
from pathlib import Path

import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

from sherlock.cli import main
from sherlock.cli.reports import online_report
from sherlock.config import PROJECT_ROOT, load_settings
from sherlock.evaluation.online_ab import HOLDOUT, analyse, load_online, serve, set_online_experiment
from sherlock.evaluation.online_ab_mlflow import log_online
from sherlock.storage.feedback import FeedbackStore

ROOT = Path(__file__).resolve().parents[2]

THREE_ARMS = """\
[online]
holdout = 0.2

[online.variants]
control = "workspace"
rrf = "rrf.toml"
bm25 = "bm25.toml"

[online.split]
control = 1
rrf = 2
bm25 = 1
"""


@pytest.fixture
def experiments(tmp_path) -> Path:
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "rrf.toml").write_text('[search]\nfusion = "rrf"\n')
    (folder / "bm25.toml").write_text("[search]\nweights = [0.2, 0.7, 0.1]\n")
    (folder / "ab.toml").write_text(THREE_ARMS)
    (folder / "pair.toml").write_text('[online]\nname = "pair"\nsalt = "s1"\n\n[online.variants]\n'
                                      'control = "workspace"\nrrf = "rrf.toml"\n')
    return folder


@pytest.fixture
def settings(tmp_path, experiments, monkeypatch):
    monkeypatch.delenv("SHERLOCK_ONLINE_EXPERIMENT", raising=False)
    return load_settings(tmp_path / "home", experiments_dir=experiments, demo=False)


@pytest.fixture
def store(settings):
    store = FeedbackStore(settings.feedback_path)
    yield store
    store.close()


def votes(store, experiment: str, arm: str, helpful: int, n: int, sessions: int) -> None:
    """``n`` thumbs on ``arm``, the first ``helpful`` of them up, spread over ``sessions`` sessions."""
    for i in range(n):
        store.record(f"query {i}", ["JSP-1001"], i < helpful, session_id=f"{arm}-{i % sessions}", variant=arm,
                     experiment=experiment)


# -- the experiment file ---------------------------------------------------------------------------------------------

def test_load_by_name(settings):
    experiment = load_online("ab", settings)
    assert (experiment.name, experiment.salt, experiment.control, experiment.holdout) == ("ab", "ab", "control", 0.2)
    assert list(experiment.arms) == ["control", "rrf", "bm25"]  # file order; the first is the control
    assert experiment.split == {"control": 0.25, "rrf": 0.5, "bm25": 0.25}
    assert experiment.settings_for("rrf", settings).fusion == "rrf"
    assert experiment.settings_for("bm25", settings).weights == (0.2, 0.7, 0.1)
    assert experiment.settings_for("control", settings) == settings
    assert experiment.settings_for(HOLDOUT, settings) is settings
    pair = load_online(settings.experiments_dir / "pair.toml", settings)
    assert (pair.salt, pair.holdout, pair.split) == ("s1", 0.0, {"control": 0.5, "rrf": 0.5})


def test_the_example_experiment_is_not_live_by_default(settings, tmp_path):
    example = load_online(PROJECT_ROOT / "experiments" / "fusion-online.toml", settings)
    assert (example.name, example.control, list(example.arms), example.holdout) == (
        "fusion-online", "control", ["control", "rrf"], 0.1)
    assert example.settings_for("rrf", settings).fusion == "rrf"
    assert load_settings(tmp_path / "other").online_experiment is None


@pytest.mark.parametrize(("text", "expected"), [
    ('[online]\nholdot = 0.1\n[online.variants]\na = "workspace"\nb = "workspace"\n',
     ":2: unknown key 'holdot' in [online]; valid keys: name, holdout, salt, variants, split"),
    ('[offline]\nholdout = 0.1\n', ":1: unknown key 'offline' in [top level]; valid keys: online"),
    ('[online]\nholdout = 1\n[online.variants]\na = "workspace"\nb = "workspace"\n',
     ":2: [online] holdout: holdout is the share of sessions kept out, 0 <= holdout < 1; got 1"),
    ('[online]\n[online.variants]\na = "workspace"\n', ":2: [online] variants: Value error, an experiment needs at "
     "least two arms"),
    ('[online]\n[online.variants]\na = "workspace"\nholdout = "workspace"\n', "'holdout' is reserved"),
    ('[online]\n[online.variants]\na = "workspace"\nb = "missing.toml"\n',
     ":4: arm 'b': "),
    ('[online]\n[online.variants]\na = "workspace"\nb = "workspace"\n[online.split]\na = 1\nc = 1\n',
     ":5: [online.split] keys must be the arms (a, b), got a, c"),
    ('[online]\n[online.variants]\na = "workspace"\nb = "workspace"\n[online.split]\na = -1\nb = 1\n',
     "split weights must be non-negative"),
    ('[online]\n[online.variants]\na = "workspace"\nb = 3\n', ":4: [online.variants] b: Input should be a valid "
     "string"),
    ("[online\n", "fix the TOML syntax"),
    ("name = 'x'\n", "unknown key 'name' in [top level]"),
    ("", "'online' is missing"),
])
def test_bad_files_say_where_and_what(settings, text, expected):
    path = settings.experiments_dir / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        load_online(path, settings)
    message = str(error.value).replace("Value error, ", "")
    assert str(path) in message and expected.replace("Value error, ", "") in message


def test_a_missing_experiment_lists_the_available_ones(settings):
    with pytest.raises(ValueError, match=r"no online experiment 'nope'.*online experiments in .*: ab, pair"):
        load_online("nope", settings)


def test_each_arm_names_the_weights_fusion_and_norm_it_serves(settings):
    """A ``workspace`` arm is the workspace's setting of the moment: after tuning, the arms say which it is."""
    tuned = settings.model_copy(update={"weights": (0.2, 0.7, 0.1), "norm": "zscore"})
    experiment = load_online("ab", tuned)
    assert experiment.arms["control"].describe() == "weights=0.2,0.7,0.1, fusion=wsum, norm=zscore"
    assert experiment.arms["rrf"].describe() == "weights=0.2,0.7,0.1, fusion=rrf, norm=zscore"
    assert experiment.arms["bm25"].describe() == "weights=0.2,0.7,0.1, fusion=wsum, norm=zscore"
    assert experiment.settings_for("control", tuned) == tuned  # served exactly as before
    assert experiment.settings_for("rrf", tuned).weights == (0.2, 0.7, 0.1)
    live = tuned.model_copy(update={"online_experiment": "ab"})
    assert serve(live, "frank").description == "weights=0.2,0.7,0.1, fusion=rrf, norm=zscore"


# -- starting and stopping -------------------------------------------------------------------------------------------

SETTINGS_FILE_TEXT = """\
# tuned on the feedback set
weights = [0.5, 0.4, 0.1]  # dense, bm25, tfidf
fusion = "wsum"
"""


def test_starting_and_stopping_edits_only_its_line(settings):
    home = settings.home
    home.mkdir(parents=True)
    (home / "sherlock.toml").write_text(SETTINGS_FILE_TEXT)
    assert set_online_experiment(home, "pair") == home / "sherlock.toml"
    started = load_settings(home, experiments_dir=settings.experiments_dir, demo=False)
    assert started.online_experiment == "pair" and started.weights == (0.5, 0.4, 0.1)
    assert (home / "sherlock.toml").read_text() == SETTINGS_FILE_TEXT + 'online_experiment = "pair"\n'
    assert serve(started, "alice").experiment == "pair"  # chat serves it from the settings read next
    set_online_experiment(home, "ab")  # another one: the line is replaced where it is
    assert (home / "sherlock.toml").read_text() == SETTINGS_FILE_TEXT + 'online_experiment = "ab"\n'
    set_online_experiment(home, None)
    assert (home / "sherlock.toml").read_text() == SETTINGS_FILE_TEXT  # comments and keys as written
    assert load_settings(home, experiments_dir=settings.experiments_dir, demo=False).online_experiment is None
    set_online_experiment(home, None)  # stopping what is not running changes nothing
    assert (home / "sherlock.toml").read_text() == SETTINGS_FILE_TEXT


def test_a_settings_file_that_cannot_be_edited_line_by_line_is_left_alone(settings, tmp_path):
    new_home = tmp_path / "new-home"
    set_online_experiment(new_home, "a \"quoted\" name")  # no file yet: one is made
    assert load_settings(new_home, demo=False).online_experiment == 'a "quoted" name'
    home = settings.home
    home.mkdir(parents=True)
    spread = 'online_experiment = """\npair"""\nfusion = "rrf"\n'  # a value over two lines
    (home / "sherlock.toml").write_text(spread)
    with pytest.raises(ValueError, match=r"sherlock\.toml: online_experiment cannot be changed line by line.*by hand"):
        set_online_experiment(home, None)
    assert (home / "sherlock.toml").read_text() == spread
    (home / "sherlock.toml").write_text("fusion = \n")
    with pytest.raises(ValueError, match=r"sherlock\.toml: .*fix or delete the file"):
        set_online_experiment(home, "pair")


# -- assignment ------------------------------------------------------------------------------------------------------

def test_assignment_is_a_pinned_hash(settings):
    # u = sha256("ab:<id>")[:8] / 2**64: alice 0.3375 → (0.3375 - 0.2) / 0.8 = 0.172 < 0.25 → control;
    # bob 0.1227 < holdout 0.2 → holdout; carol 0.8380 → 0.7975, past 0.25 + 0.5 → bm25.
    experiment = load_online("ab", settings)
    assigned = {name: experiment.assign(name) for name in ("alice", "bob", "carol", "frank")}
    assert assigned == {"alice": "control", "bob": HOLDOUT, "carol": "bm25", "frank": "rrf"}
    assert [load_online("ab", settings).assign(f"s{i}") for i in range(50)] == \
        [experiment.assign(f"s{i}") for i in range(50)]


def test_assignment_follows_the_split_and_the_salt_reshuffles(settings):
    experiment = load_online("ab", settings)
    ids = [f"session-{i}" for i in range(20_000)]
    arms = [experiment.assign(i) for i in ids]
    shares = {arm: n / len(ids) for arm, n in Counter(arms).items()}
    expected = {HOLDOUT: 0.2, "control": 0.2, "rrf": 0.4, "bm25": 0.2}  # 0.8 of sessions split 1:2:1
    assert shares == pytest.approx(expected, abs=0.015)  # ±0.015 is over 5 standard errors at n = 20,000
    experiment.salt = "another salt"
    moved = sum(a != experiment.assign(i) for i, a in zip(ids, arms, strict=True)) / len(ids)
    assert moved == pytest.approx(1 - (0.2**2 + 0.2**2 + 0.4**2 + 0.2**2), abs=0.02)  # as if drawn afresh: 0.72


def test_serve_assigns_falls_back_and_holds_out(settings):
    assert serve(settings, "alice").experiment is None  # nothing live: the workspace's settings
    live = settings.model_copy(update={"online_experiment": "ab"})
    served = serve(live, "frank")
    assert (served.experiment, served.arm, served.settings.fusion, served.error) == ("ab", "rrf", "rrf", None)
    held = serve(live, "bob")
    assert (held.arm, held.settings) == (HOLDOUT, live)
    missing = live.model_copy(update={"online_experiment": "nope"})
    broken = serve(missing, "alice")
    assert broken.settings is missing and broken.experiment is None and "no online experiment 'nope'" in broken.error
    (settings.experiments_dir / "gemini.toml").write_text('[search]\nembedding_model = "gemini"\n')
    (settings.experiments_dir / "embed.toml").write_text('[online]\n[online.variants]\na = "gemini.toml"\n'
                                                         'b = "gemini.toml"\n')
    other_embedder = live.model_copy(update={"online_experiment": "embed"})
    other_index = serve(other_embedder, "alice")
    assert other_index.settings is other_embedder and "indexed with 'minilm'" in other_index.error


# -- analysis --------------------------------------------------------------------------------------------------------

def test_analysis_counts_votes_per_arm_against_the_control(settings, store):
    votes(store, "ab", "control", 9, 10, sessions=5)
    votes(store, "ab", "rrf", 3, 10, sessions=4)
    votes(store, "ab", "bm25", 7, 10, sessions=10)
    votes(store, "ab", HOLDOUT, 2, 3, sessions=3)
    votes(store, "another", "control", 5, 5, sessions=1)                  # another experiment: ignored
    store.record("q", ["JSP-1001"], True, session_id="x", variant="rrf")   # no experiment: ignored
    store.record("q", ["JSP-1001"], None, right_id="JSP-1002", session_id="rrf-extra", variant="rrf",
                 experiment="ab")                                          # a session, but no vote
    store.record("q", ["JSP-1001"], True, session_id="y", variant="retired", experiment="ab")
    result = analyse(load_online("ab", settings), store)

    control, rrf = result.variants["control"], result.variants["rrf"]
    assert (control.sessions, control.votes, control.helpful, control.rate) == (5, 10, 9, 0.9)
    assert (rrf.sessions, rrf.votes, rrf.helpful, rrf.rate) == (5, 10, 3, 0.3)
    wilson = stats.binomtest(9, 10).proportion_ci(method="wilson")
    assert control.ci95 == pytest.approx([wilson.low, wilson.high])
    assert (result.holdout.votes, result.holdout.helpful) == (3, 2)

    # 9/10 vs 3/10: an expected count of 10·8/20 = 4 < 5 → Fisher's exact test
    p_rrf = stats.fisher_exact([[9, 1], [3, 7]]).pvalue
    p_bm25 = stats.fisher_exact([[9, 1], [7, 3]]).pvalue
    by_rrf, by_bm25 = result.comparisons["rrf"], result.comparisons["bm25"]
    assert (by_rrf.vs, by_rrf.test, by_rrf.diff) == ("control", "fisher", pytest.approx(-0.6))
    assert by_rrf.p == pytest.approx(p_rrf) and by_bm25.p == pytest.approx(p_bm25)
    assert by_rrf.ci95[0] < -0.6 < by_rrf.ci95[1] < 0
    # Holm over two comparisons: the smaller p doubled, the larger at least that (p_rrf ≈ 0.02, p_bm25 ≈ 0.58)
    assert by_rrf.p_holm == pytest.approx(2 * p_rrf)
    assert by_bm25.p_holm == pytest.approx(max(2 * p_rrf, p_bm25))
    assert any("retired (1)" in note for note in result.notes)

    data = json.loads(json.dumps(result.as_dict()))
    assert set(data) == {"experiment", "control", "variants", "comparisons", "holdout", "notes", "mlflow_run_id"}
    assert data["variants"]["bm25"] == {"sessions": 10, "votes": 10, "helpful": 7, "rate": 0.7,
                                        "ci95": pytest.approx(list(stats.binomtest(7, 10).proportion_ci(
                                            method="wilson")))}
    assert set(data["comparisons"]["rrf"]) == {"vs", "diff", "ci95", "test", "p", "p_holm"}
    table = online_report(result)
    assert "fisher" in table and "90.0% [" in table and "-60.0 pts [" in table


def test_large_counts_use_the_z_test(settings, store):
    votes(store, "pair", "control", 30, 50, sessions=20)
    votes(store, "pair", "rrf", 15, 50, sessions=20)
    comparison = analyse(load_online("pair", settings), store).comparisons["rrf"]
    # every expected count is 25: the pooled z-test, whose p equals Pearson's chi-squared without Yates's correction
    oracle = stats.chi2_contingency([[30, 20], [15, 35]], correction=False).pvalue
    assert (comparison.test, comparison.p, comparison.p_holm) == ("z", pytest.approx(oracle), pytest.approx(oracle))


def test_an_experiment_without_votes_is_a_result_not_an_error(settings, store):
    result = analyse(load_online("ab", settings), store)
    data = result.as_dict()
    assert all(arm == {"sessions": 0, "votes": 0, "helpful": 0, "rate": None, "ci95": None}
               for arm in data["variants"].values())
    assert all(c["p"] is None and c["p_holm"] is None for c in data["comparisons"].values())
    assert "no votes recorded for experiment 'ab'" in data["notes"][0]
    assert "no votes recorded" in online_report(result)


# -- MLflow, CLI -----------------------------------------------------------------------------------------------------

def test_mlflow_parent_run_with_a_child_per_arm(settings, store, tmp_path):
    from mlflow.tracking import MlflowClient
    votes(store, "pair", "control", 8, 10, sessions=4)
    votes(store, "pair", "rrf", 4, 10, sessions=4)
    result = analyse(load_online("pair", settings), store)
    parent_id = log_online(result, settings)

    client = MlflowClient(tracking_uri=settings.tracking_uri)
    experiment = client.get_experiment_by_name("sherlock-ab-online")
    runs = {run.info.run_id: run for run in client.search_runs([experiment.experiment_id])}
    assert len(runs) == 3 and runs[parent_id].data.tags["sherlock.kind"] == "online"
    children = {run.data.tags["sherlock.arm"]: run for run in runs.values() if run.info.run_id != parent_id}
    assert set(children) == {"control", "rrf"}
    assert all(run.data.tags["mlflow.parentRunId"] == parent_id for run in children.values())
    assert {run.info.status for run in runs.values()} == {"FINISHED"} and runs[parent_id].info.run_name == "online pair"
    assert (children["rrf"].info.run_name, children["rrf"].data.tags["sherlock.role"]) == ("rrf", "treatment")
    assert children["rrf"].data.tags["sherlock.variant"] == "weights=0.6,0.3,0.1, fusion=rrf, norm=minmax"
    assert "mlflow.parentRunId" not in runs[parent_id].data.tags
    rrf = children["rrf"].data
    assert (rrf.params["search.fusion"], rrf.params["share"], rrf.params["salt"]) == ("rrf", "0.5", "s1")
    assert rrf.metrics["rate"] == 0.4 and rrf.metrics["p"] == pytest.approx(result.comparisons["rrf"].p)
    assert children["control"].data.params["search.fusion"] == "wsum" and "p" not in children["control"].data.metrics
    saved = json.loads(Path(client.download_artifacts(parent_id, "result.json", str(tmp_path))).read_text())
    assert saved["mlflow_run_id"] == parent_id and saved["variants"]["control"]["helpful"] == 8


def test_cli_json_and_exit_codes(settings, store, monkeypatch, capsys):
    votes(store, "ab", "control", 9, 10, sessions=5)
    votes(store, "ab", "rrf", 3, 10, sessions=4)
    monkeypatch.setenv("SHERLOCK_EXPERIMENTS_DIR", str(settings.experiments_dir))
    home = str(settings.home)
    assert main(["--home", home, "ab-online", "ab", "--json", "--no-mlflow"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["experiment"], data["control"], data["mlflow_run_id"]) == ("ab", "control", None)
    assert data["variants"]["rrf"]["helpful"] == 3 and data["comparisons"]["rrf"]["test"] == "fisher"
    assert data["comparisons"]["bm25"]["p"] is None  # no votes on bm25 yet: not compared

    assert main(["--home", home, "ab-online", "ab", "--no-mlflow"]) == 0
    assert "rrf" in capsys.readouterr().out

    (settings.experiments_dir / "typo.toml").write_text('[online]\nsalf = "x"\n')
    assert main(["--home", home, "ab-online", "typo", "--no-mlflow"]) == 2
    assert "typo.toml:2: unknown key 'salf'" in capsys.readouterr().err
    assert main(["--home", home, "ab-online", "nope"]) == 2


# -- chat ------------------------------------------------------------------------------------------------------------

@pytest.fixture
def fresh_caches():
    """The chat page caches the workspace (and so its settings) per process: start and end with empty caches."""
    import streamlit as st
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def open_chat(juspay_workspace, monkeypatch, experiment: Path, session_id: str) -> AppTest:
    monkeypatch.setenv("SHERLOCK_HOME", str(juspay_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    monkeypatch.setenv("SHERLOCK_ONLINE_EXPERIMENT", str(experiment))
    app = AppTest.from_file(str(ROOT / "views" / "chat.py"), default_timeout=120)
    app.session_state["session_id"] = session_id
    return app.run()


def thumbs_up(app: AppTest, question: str) -> None:
    app.chat_input[0].set_value(question).run()
    app.feedback[0].set_value(1).run()
    next(button for button in app.button if button.label == "Send").click().run()
    assert not app.exception


def test_chat_serves_the_sessions_arm_and_records_it(juspay_workspace, experiments, settings, monkeypatch,
                                                      fresh_caches):
    experiment = load_online("pair", settings)
    session = next(f"s{i}" for i in range(100) if experiment.assign(f"s{i}") == "rrf")
    app = open_chat(juspay_workspace, monkeypatch, experiments / "pair.toml", session)
    assert not app.exception and not app.warning
    assert any("pair" in c.value and "rrf" in c.value for c in app.sidebar.caption)
    thumbs_up(app, "refund failed insufficient funds 2C2P")
    record = FeedbackStore(juspay_workspace.settings.feedback_path).records()[-1]
    assert (record.query, record.helpful, record.session_id, record.variant, record.experiment) == (
        "refund failed insufficient funds 2C2P", True, session, "rrf", "pair")
    assert record.settings["method"] == "rrf"  # the answer really came from the rrf arm


def test_a_broken_experiment_does_not_break_chat(juspay_workspace, experiments, monkeypatch, fresh_caches):
    (experiments / "broken.toml").write_text('[online]\nholdout = 2\n')
    app = open_chat(juspay_workspace, monkeypatch, experiments / "broken.toml", "s0")
    assert "not served" in app.warning[0].value and "holdout" in app.warning[0].value
    thumbs_up(app, "IRCTC webhook delivery failing")
    record = FeedbackStore(juspay_workspace.settings.feedback_path).records()[-1]
    assert (record.helpful, record.variant, record.experiment) == (True, None, None)
