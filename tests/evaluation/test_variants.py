"""Tests for sherlock.evaluation.variants: A/B variant files, their errors (file:line, the key, the valid keys), how
they apply to a workspace's settings and how they flatten into MLflow params."""

from __future__ import annotations

from pathlib import Path

import pytest

from sherlock.config import PROJECT_ROOT, load_settings
from sherlock.evaluation.variants import (
    default_variant,
    fusion_summary,
    list_variants,
    load_variant,
    parse_variant,
    resolve_variant,
)

EXPERIMENTS = PROJECT_ROOT / "experiments"


@pytest.fixture
def base(tmp_path):
    return load_settings(home=tmp_path / "home", demo=False)


def test_a_full_variant_applies_every_key(base):
    variant = parse_variant("""
name = "everything"
[search]
weights = {dense = 0.2, bm25 = 0.7}
fusion = "rrf"
norm = "zscore"
k = 5
rrf_k = 30
candidates = 50
bm25_k1 = 0.9
bm25_b = 0.4
embedding_model = "minilm"
entity_boost = false
entity_multiplier = 1.5
[answer]
provider = "extractive"
model = "gemini-2.5-pro"
prompt_version = "v1"
""")
    settings = variant.settings(base)
    assert variant.name == "everything"
    assert settings.weights == (0.2, 0.7, 0.0)
    assert (settings.fusion, settings.norm, settings.rrf_k, settings.candidates) == ("rrf", "zscore", 30, 50)
    assert (settings.bm25_k1, settings.bm25_b, settings.entity_boost, settings.entity_multiplier) == (0.9, 0.4,
                                                                                                        False, 1.5)
    assert (settings.answer_provider, settings.gemini_model) == ("extractive", "gemini-2.5-pro")
    assert settings.home == base.home and base.fusion == "wsum"  # the base is not modified
    assert variant.depth(["ndcg@10"]) == 5


def test_unset_keys_keep_the_workspace_settings(base):
    variant = parse_variant("[search]\nfusion = 'dbsf'\n", name="dbsf")
    settings = variant.settings(base)
    assert settings.fusion == "dbsf" and settings.weights == base.weights and settings.norm == base.norm
    assert variant.overrides() == {"fusion": "dbsf"}
    assert default_variant().overrides() == {}


def test_params_are_the_resolved_flat_configuration(base):
    params = parse_variant("[search]\nweights = [0.5, 0.5, 0]\n", name="half").params(base, ["ndcg@10", "recall@100"])
    assert params["variant"] == "half"
    assert params["search.weights"] == "0.5,0.5,0"
    assert params["search.fusion"] == "wsum" and params["search.norm"] == "minmax"
    assert params["search.k"] == "100"  # the deepest metric cutoff
    assert params["search.entity_boost"] == "true" and params["answer.prompt_version"] == "v1"
    assert all(isinstance(value, str) for value in params.values())


@pytest.mark.parametrize("text, line, message", [
    ("[search]\nfusion = 'rrf'\nwieghts = [1, 0, 0]\n", 3,
     "unknown key [search] 'wieghts'; valid keys: weights, fusion, norm, k"),
    ("name = 'x'\n[serach]\nk = 3\n", 2, "unknown key 'serach'; valid keys: name, description, search, answer"),
    ("[answer]\nprovider = 'openai'\n", 2, "[answer] provider:"),
    ("[answer]\nprompt_version = 'v9'\n", 2, "unknown prompt version 'v9'; choose one of: v1"),
    ("[search]\nfusion = 'borda'\n", 2, "unknown fusion 'borda'; choose one of: combmnz, dbsf, rrf, wsum"),
    ("[search]\nk = 0\n", 2, "[search] k: Input should be greater than or equal to 1"),
    ("[search]\nweights = [0, 0, 0]\n", 2, "weights are all zero"),
    ("[search]\nweights = {dense = 1, splade = 1}\n", 2, "unknown retriever 'splade' in weights"),
])
def test_bad_keys_and_values_say_where_and_what_is_valid(text, line, message):
    with pytest.raises(ValueError) as error:
        parse_variant(text, source="exp/bad.toml")
    assert str(error.value).startswith(f"exp/bad.toml:{line}: ")
    assert message in str(error.value)


def test_toml_syntax_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[search\nk = 3\n")
    with pytest.raises(ValueError, match=r"broken.toml: .*line 1.*fix the TOML syntax"):
        load_variant(path)
    with pytest.raises(ValueError, match="cannot read the variant file"):
        load_variant(tmp_path / "missing.toml")


def test_a_setting_invalid_for_the_workspace_names_the_variant(base):
    variant = parse_variant("[search]\nnorm = 'minmax'\nentity_multiplier = 1.2\n", name="ok")
    assert variant.settings(base).entity_multiplier == 1.2
    with pytest.raises(ValueError, match="variant 'gem'"):
        parse_variant("[search]\nembedding_model = 'gemini'\n", name="gem").settings(
            base.model_copy(update={"embed_batch_size": 0}))


def test_the_shipped_variants_load_and_online_files_are_not_variants(base, tmp_path):
    shipped = list_variants(EXPERIMENTS)
    assert {p.stem for p in shipped} >= {"baseline", "rrf", "bm25-heavy"}
    for path in shipped:
        load_variant(path).settings(base)
    assert load_variant(EXPERIMENTS / "baseline.toml").settings(base).weights == (0.6, 0.3, 0.1)
    (tmp_path / "a.toml").write_text("[search]\nk = 3\n")
    (tmp_path / "live.toml").write_text("[online]\nname = 'live'\n")
    assert [p.name for p in list_variants(tmp_path)] == ["a.toml"]
    assert list_variants(tmp_path / "nowhere") == []
    assert Path(load_variant(tmp_path / "a.toml").path).name == "a.toml"


def test_variants_resolve_by_workspace_name_or_path(tmp_path):
    (tmp_path / "fast.toml").write_text("[search]\ncandidates = 20\n")
    assert resolve_variant("workspace", tmp_path).overrides() == {}
    assert resolve_variant("fast", tmp_path).search.candidates == 20
    assert resolve_variant(str(tmp_path / "fast.toml"), EXPERIMENTS).name == "fast"
    assert resolve_variant("rrf", EXPERIMENTS).search.fusion == "rrf"
    with pytest.raises(ValueError, match=r"no variant 'slow'.*one of .*: fast"):
        resolve_variant("slow", tmp_path)


def test_the_documented_variant_example_is_valid(base):
    """experiments/README.md's full example sets every key, and parses."""
    text = (EXPERIMENTS / "README.md").read_text(encoding="utf-8")
    example = text.split("```toml\n")[1].split("```")[0]
    variant = parse_variant(example, source="experiments/README.md")
    assert variant.name == "rrf" and variant.settings(base).fusion == "rrf"
    assert set(variant.search.model_dump(exclude_none=True)) == set(type(variant.search).model_fields)
    assert set(variant.answer.model_dump(exclude_none=True)) == set(type(variant.answer).model_fields)


def test_a_resolved_variant_names_the_weights_fusion_and_norm_it_ranks_with(base):
    """After tuning, "workspace vs rrf" is ambiguous: resolved, each arm says what it ranks with, and ranks the same."""
    tuned = base.model_copy(update={"weights": (0.2, 0.7, 0.1), "fusion": "combmnz", "norm": "zscore"})
    workspace = default_variant().resolved(tuned)
    assert default_variant().describe() == "the workspace's settings"  # what the arm showed before
    assert workspace.describe() == "weights=0.2,0.7,0.1, fusion=combmnz, norm=zscore"
    rrf = load_variant(EXPERIMENTS / "rrf.toml")
    assert rrf.resolved(tuned).describe() == "weights=1,1,1, fusion=rrf, norm=zscore, rrf_k=60"  # norm inherited
    for variant in (default_variant(), rrf, load_variant(EXPERIMENTS / "bm25-heavy.toml")):
        resolved = variant.resolved(tuned)
        assert resolved.settings(tuned) == variant.settings(tuned)  # the same ranking
        assert resolved.params(tuned) == variant.params(tuned)       # and the same MLflow params
        assert (resolved.name, resolved.path, resolved.description) == (variant.name, variant.path,
                                                                        variant.description)
    assert fusion_summary(workspace.params(tuned)) == workspace.describe()
    assert fusion_summary({"weights": (0.5, 0.5, 0.0), "fusion": "wsum"}) == "weights=0.5,0.5,0, fusion=wsum"
    assert fusion_summary({"seed": "0"}) == ""  # a run logged by something else
