import pytest

from sherlock.text import english_stop_words, matched_terms, query_terms, stem, stopwords, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snapdeal_test", ["snapdeal_test", "snapdeal", "test"]),
        ("pinelabs_online", ["pinelabs_online", "pinelab", "onlin"]),  # parts are stemmed like words
        ("JSP-1052", ["jsp-1052", "jsp", "1052"]),
        ("5003", ["5003"]),
        ("65xx", ["65xx"]),
        ("HTTP 502", ["http", "502", "http_502"]),
        ("HTTP-502", ["http-502", "http", "502", "http_502"]),
        ("OOMKilled", ["oomkilled", "oom", "kill"]),
        ("MessageNotRecognized", ["messagenotrecognized", "messag", "recogn"]),  # "not" is a stopword
        ("/txns", ["txns"]),
        ("INTERNAL_SERVER_ERROR", ["internal_server_error", "intern", "server", "error"]),
        ("/ec/oauth/altIdOnboard/list", ["ec", "oauth", "altidonboard", "alt", "id", "onboard", "list"]),
        ("Juspay's gateway doesn't retry", ["juspay", "gateway", "retri"]),
        ("www4.ipg-online.com", ["www4.ipg-online.com", "www4", "ipg", "onlin", "com"]),
        ("", []),
    ],
)
def test_tokenize(text, expected):
    assert tokenize(text) == expected


def test_http_bigram_only_for_status_codes_right_after_http():
    assert "http_502" not in tokenize("502 errors over http")
    assert "http_9999" not in tokenize("HTTP 9999")


@pytest.mark.parametrize("word", ["failures", "failure", "failed", "fails", "failing", "FAILED"])
def test_failure_words_stem_to_fail(word):
    assert tokenize(word) == ["fail"]


def test_stopwords_are_removed():
    assert tokenize("The payment is not in the queue") == ["payment", "queue"]


def test_stopword_list_is_the_classic_english_list():
    words = stopwords()
    assert len(words) == 179
    assert {"the", "a", "is", "not", "doesn't"} <= words
    assert "payment" not in words


def test_label_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert english_stop_words() == ENGLISH_STOP_WORDS
    assert len(english_stop_words()) == 318


def test_lowercase_and_stem():
    assert stem("webhooks") == "webhook"
    assert tokenize("Webhooks WEBHOOK webhook") == ["webhook"] * 3


def test_query_terms_are_unique_in_order():
    assert query_terms("refund refund failed refund") == ["refund", "fail"]


def test_matched_terms_reports_query_surface_words_found_in_doc():
    doc = "Snapdeal merchant (MID: snapdeal_test) on the pinelabs_online gateway; refunds failing."
    assert matched_terms("Snapdeal Pinelabs refund failure the UPI snapdeal", doc) == [
        "Snapdeal", "Pinelabs", "refund", "failure"]
    assert matched_terms("snapdeal_test", doc) == ["snapdeal_test"]
    assert matched_terms("upi", doc) == []
