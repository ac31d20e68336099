"""The demo corpus's words: the 36 incident-family templates and the vocabulary their slots are filled from.

Data only; ``tools.demo.generator`` is the generator that uses it.

A :class:`Family` is one recurring root cause. Each of its incidents takes any one of ``titles`` (symptoms: any
title fits any cause) and one story ``i``: ``descriptions[i]``, ``root_causes[i]`` and ``resolutions[i]`` belong
together, so the three tuples have the same length. Templates are ``str.format`` strings; ``tools.demo.generator`` fills
their ``{slots}`` once per incident (``_draw_slots`` lists them all):

* entities: ``{bank}`` and ``{gateway}`` (a display name of a ``BANKS`` / ``GATEWAYS`` entry), ``{merchant}``,
  ``{region}`` (weighted draws from the vocabulary below), ``{service}`` (one of the family's ``services``) and
  ``{error_code}`` (one of its ``error_codes``, empty when it has none);
* numbers and names: ``{secs}``, ``{pct}``, ``{count}``, ``{mins}``, ``{version}``, ``{table}``, ``{topic}``,
  ``{host}``, ``{drill}``, ...; a ``2`` suffix (``{secs2}``, ``{pool2}``) is a second value, such as the
  raised limit a fix sets.

``key_slot`` is the entity that tells occurrences apart and ``extra_keys`` the entities stored in
``Incident.extra``. ``entity_queries`` (which may name only ``tools.demo.generator.ENTITY_SLOTS``) and
``symptom_queries``
(which name none) are on-call phrasings for the labelled queries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    """A recurring root cause: templates plus the structured fields its incidents carry."""

    key: str
    category: str
    services: tuple[str, ...]
    tags: tuple[str, ...]
    key_slot: str | None          # the entity that distinguishes occurrences (what queries name)
    extra_keys: tuple[str, ...]   # entity slots stored in ``extra``
    weight: float                 # relative frequency
    bias: int                     # severity bias, see tools.demo.generator.SEVERITY_MIX
    slope: float                  # trend over the span: rate at end / start is (1 + slope/2) / (1 - slope/2)
    error_codes: tuple[str, ...]
    titles: tuple[str, ...]       # symptoms, any title fits any cause
    descriptions: tuple[str, ...]  # descriptions[i], root_causes[i] and resolutions[i] belong together
    root_causes: tuple[str, ...]
    resolutions: tuple[str, ...]
    entity_queries: tuple[str, ...]
    symptom_queries: tuple[str, ...]


# -- vocabulary (all names are invented or public product names; ids and people are pseudonymous) ----------------

BANKS = {"hdfc": ("HDFC", "HDFC Bank"), "axis": ("Axis", "Axis Bank"), "icici": ("ICICI", "ICICI Bank"),
         "sbi": ("SBI", "State Bank of India"), "kotak": ("Kotak", "Kotak Mahindra Bank"), "yes bank": ("Yes Bank",),
         "idfc first": ("IDFC First", "IDFC First Bank"), "indusind": ("IndusInd", "IndusInd Bank")}
BANK_IDS = tuple(BANKS)
BANK_WEIGHTS = (20, 18, 17, 15, 12, 7, 6, 5)
GATEWAYS = {"razorpay": ("Razorpay",), "payu": ("PayU",), "pinelabs_online": ("pinelabs_online", "Pine Labs Online"),
            "billdesk": ("BillDesk",), "cashfree": ("Cashfree",), "ccavenue": ("CCAvenue",), "paytm": ("Paytm PG",),
            "phonepe": ("PhonePe PG",), "stripe": ("Stripe",), "2c2p": ("2C2P",), "easebuzz": ("Easebuzz",),
            "amazonpay": ("Amazon Pay",)}
GATEWAY_SPOKEN = {"pinelabs_online": ("pinelabs", "pine labs"), "paytm": ("paytm",), "phonepe": ("phonepe",)}
GATEWAY_IDS = tuple(GATEWAYS)
GATEWAY_WEIGHTS = (20, 16, 12, 10, 10, 8, 7, 6, 4, 3, 3, 3)
MERCHANTS = ("kiranakart", "tripnest", "fitloop", "bookbazaar", "medirush", "quizarena", "urbanthreads", "fuelgo",
             "edupath", "homefixr", "snackdash", "cinebuzz")
MERCHANT_WEIGHTS = (18, 15, 12, 10, 9, 8, 7, 6, 5, 4, 3, 3)
APP_SERVICES = ("payments-api", "upi-switch", "card-vault", "refunds-api", "webhook-dispatcher", "settlement-engine",
                "gateway-router", "mandate-service", "recon-worker", "notification-service", "auth-service")
SERVICES = APP_SERVICES + ("k8s-platform", "postgres-primary", "kafka-cluster", "edge-lb")
REGIONS = ("ap-south-1", "ap-south-2", "ap-southeast-1")
REGION_WEIGHTS = (6, 3, 1)
BIN_RANGES = (("6522xx", "RuPay"), ("6521xx", "RuPay"), ("6073xx", "RuPay"), ("4594xx", "Visa"),
              ("4147xx", "Visa"), ("5241xx", "Mastercard"), ("5326xx", "Mastercard"), ("3600xx", "Diners"))
TABLES = ("payments", "refunds", "mandates", "ledger_entries", "settlement_lines", "webhook_events", "orders")
TOPICS = ("payment-events", "refund-events", "settlement-batches", "webhook-outbox", "ledger-postings")
HOSTS = ("api.payments.example.com", "hooks.example.com", "pg-proxy.example.net", "checkout.example.com",
         "sftp.settlements.example.net", "vault.internal.example.com")
PSP_APPS = ("the PhonePe app", "Google Pay", "the Paytm app", "BHIM")
DRILLS = ("primary database failover", "UPI PSP blackhole", "loss of one availability zone", "Kafka broker loss",
          "webhook dispatcher kill", "gateway router pod eviction", "DNS resolver outage", "expired certificate")
TEAMS = {c: 1 + 9 * i for i, c in enumerate(("upi", "cards", "gateway", "refunds", "webhooks", "settlements",
                                              "payments", "notifications", "kubernetes", "database", "network",
                                              "queue", "sre"))}
CUSTOMER_FACING = {"upi", "cards", "gateway", "refunds", "webhooks", "settlements", "payments", "notifications"}
DETECTION_PHRASES = {
    "alert": ("Detected by the success-rate alert.", "Paged by the SLO burn-rate alert.",
              "Caught by synthetic checks.", "The on-call was paged by an error-rate alert.",
              "Picked up on the dashboard before any ticket came in."),
    "customer": ("Reported by a merchant through support.", "First raised in a merchant escalation.",
                 "Customers complained on social media before any alert fired.",
                 "The account manager forwarded merchant complaints."),
}
BRIDGE_PHRASES = ("Declared {severity} and opened an incident bridge.", "{severity} declared; status page updated.",
                  "Escalated to {severity}; leadership informed.")
IMPACT_PHRASES = ("Impact lasted {mins} minutes and touched about {count} requests.",
                  "Roughly {count} requests affected over {mins} minutes.",
                  "About {count} requests failed before mitigation at minute {mins}.")
MONITORING_PHRASES = ("Fix deployed; monitoring before closing.", "Mitigated; watching metrics for a day.",
                      "Change applied, keeping the incident open until the next peak passes.")
QUERY_PREFIXES = ("", "", "", "any idea why ", "seen this before? ", "how did we fix ", "help: ", "urgent - ",
                  "what was the fix when ")
PLAIN_SUFFIXES = ("", "", "", " again", " since this morning")
QUERY_SUFFIXES = PLAIN_SUFFIXES + ("?", " - any runbook?", ", what did we do last time?")
OFF_TOPIC_QUERIES = (
    "what is the capital of australia", "recipe for banana bread", "how do I renew my passport",
    "best time of year to visit goa", "who won the cricket world cup in 2011", "how many calories in a boiled egg",
    "translate good morning into french", "suggest a name for my new puppy", "will it rain in bengaluru tomorrow",
    "how to tie a bowline knot", "explain the offside rule in football", "convert 10 miles to kilometres",
    "good books about ancient rome", "which credit card gives the most airline miles",
    "how do I open a savings account online", "is it free to send money to friends with upi",
)


# -- families: the recurring root causes (data, not logic) --------------------------------------------------------

FAMILIES: tuple[Family, ...] = (
    Family(
        key="upi_psp_timeout", category="upi", services=("upi-switch",), tags=("upi", "timeout", "psp"),
        key_slot="bank", extra_keys=("bank", "merchant", "error_code"), weight=1.6, bias=1, slope=0.3,
        error_codes=("5003", "U30"),
        titles=("UPI payments timing out on {bank} PSP", "{bank} UPI pay requests failing with {error_code}",
                "Elevated UPI timeouts via {bank} PSP for {merchant}",
                "UPI success rate drop: {bank} PSP responses over {secs}s"),
        descriptions=(
            "UPI pay requests routed through the {bank} PSP started timing out after {secs}s; success rate for "
            "{merchant} fell by {pct}%. Transactions stayed PENDING and customers saw error {error_code}.",
            "Spike in {error_code} from upi-switch for {bank} handles. About {count} transactions hung in processing "
            "before the {secs}s client timeout fired.",
            "Merchants including {merchant} reported UPI payments stuck at 'processing'. PSP round-trip latency for "
            "{bank} rose from about 2s to over {secs}s for {mins} minutes."),
        root_causes=(
            "{bank} PSP was degraded on their side and our switch timeout of {secs}s was shorter than their p99, so "
            "requests were abandoned while still in flight.",
            "The PSP connection pool for {bank} had only {pool} connections; under load requests queued past the "
            "timeout and were reported as {error_code}.",
            "Retries re-sent pay requests without an idempotency key, so slow {bank} responses were doubled and the "
            "PSP throttled us."),
        resolutions=(
            "Raised the {bank} PSP timeout to {secs2}s, added retries with an idempotency key and a status check "
            "before marking a payment failed.",
            "Grew the PSP connection pool to {pool2} and enabled the circuit breaker on {bank} latency.",
            "Moved {pct2}% of UPI traffic to the secondary PSP until {bank} recovered, and made retries idempotent."),
        entity_queries=("upi payments hanging then failing for {bank} users", "{bank} psp slow, upi txns stuck pending",
                        "lots of {error_code} on upi through {bank}", "{bank} upi requests timing out"),
        symptom_queries=("upi transactions stuck in processing and then timing out",
                         "customers say the upi payment keeps spinning and fails")),
    Family(
        key="upi_collect_expiry", category="upi", services=("upi-switch",), tags=("upi", "collect"),
        key_slot="bank", extra_keys=("bank", "merchant", "error_code"), weight=1.0, bias=0, slope=-0.4,
        error_codes=("U69",),
        titles=("UPI collect requests expiring for {bank} customers", "Collect requests to {bank} expiring unapproved",
                "{merchant}: UPI collect flow expiring before approval",
                "Surge in expired UPI collect requests ({bank})"),
        descriptions=(
            "Collect requests to {bank} VPAs were not shown as notifications in the PSP app, so customers never saw "
            "the approval prompt and requests expired with {error_code}. {merchant} saw collect conversion fall "
            "{pct}%.",
            "Customers of {merchant} paying with {bank} handles said the collect request never appeared. About "
            "{count} requests expired unapproved.",
            "Expired collect requests for {bank} rose to {pct}% of collect volume; the intent flow was unaffected."),
        root_causes=(
            "{bank}'s PSP notification service lagged and delivered collect prompts after the expiry window.",
            "We sent collect requests with a {mins}-minute expiry, below the {bank} PSP minimum, so they were dropped.",
            "A VPA validation cache returned stale {bank} handles, so requests went to deactivated VPAs and expired."),
        resolutions=(
            "Lengthened the collect expiry and steered {bank} handles to the intent flow until the PSP fixed "
            "notifications.",
            "Set the expiry to the PSP minimum and re-sent the pending collect requests.",
            "Flushed the VPA cache, cut its TTL to {secs} seconds and alerted on the collect-expiry ratio."),
        entity_queries=("{bank} customers not getting the upi collect notification",
                        "collect requests expiring on {bank} handles",
                        "{merchant} says upi collect never shows up in the app"),
        symptom_queries=("upi collect request expires before the customer can approve it",
                         "people never see the approve prompt, the request just expires")),
    Family(
        key="upi_intent_failure", category="upi", services=("payments-api",), tags=("upi", "intent", "sdk", "android"),
        key_slot="merchant", extra_keys=("merchant",), weight=0.8, bias=0, slope=0.5, error_codes=(),
        titles=("UPI intent flow failing on Android for {merchant}", "{merchant}: UPI app not opening from checkout",
                "Intent payments returning without a result from {psp_app}",
                "UPI intent success drop after SDK {version}"),
        descriptions=(
            "After SDK {version} rolled out, picking a UPI app at {merchant} checkout opened {psp_app} but came back "
            "with no transaction status; {pct}% of intent attempts were lost.",
            "Android users of {merchant} reported that choosing {psp_app} on the payment page did nothing. About "
            "{count} sessions affected.",
            "Intent payments for {merchant} completed in {psp_app} but the merchant app showed failure, so customers "
            "paid again and complained of double debits."),
        root_causes=(
            "The intent URI built by SDK {version} encoded the payee VPA twice, which {psp_app} rejected silently.",
            "Android package-visibility rules hid installed UPI apps because the manifest lost its queries entry in "
            "a build change.",
            "The SDK treated a missing result bundle from {psp_app} as a failure instead of polling the status."),
        resolutions=(
            "Rolled back to the previous SDK and shipped a fix with a single encoding pass.",
            "Restored the queries declaration in the manifest and pushed a patch release.",
            "Made the SDK poll the transaction status when the UPI app returns nothing, and reconciled the orders."),
        entity_queries=("upi app does not open from {merchant} checkout",
                        "{merchant} intent payments coming back with no status"),
        symptom_queries=("upi intent returns to the app without a payment result",
                         "android users tap a upi app at checkout and nothing happens")),
    Family(
        key="upi_mandate_debit", category="upi", services=("mandate-service",), tags=("upi", "autopay", "mandate"),
        key_slot="bank", extra_keys=("bank", "merchant"), weight=0.8, bias=0, slope=0.6, error_codes=(),
        titles=("UPI Autopay debits not executed on due date", "Mandate execution skipped for {bank} autopay",
                "Recurring UPI debit failures for {merchant} subscriptions",
                "Autopay debits missing for {bank} mandates"),
        descriptions=(
            "About {count} autopay mandates due today were not debited. The execution job for {bank} mandates ended "
            "without picking them up; {merchant} flagged missed renewals.",
            "Pre-debit notifications for {bank} mandates were not sent a day ahead, so {pct}% of executions were "
            "rejected.",
            "{merchant} reported that renewals due early in the morning on {bank} handles never ran; about {count} "
            "mandates skipped."),
        root_causes=(
            "The execution cron ran twice in overlapping windows and the second run's lock made the first skip its "
            "batch.",
            "The pre-debit notification job was paused during a migration and never resumed, so executions had no "
            "notice.",
            "Execution compared due dates in UTC while they are stored in IST, skipping mandates due before 05:30."),
        resolutions=(
            "Added a distributed lock with an idempotent batch marker and re-ran execution for the missed mandates.",
            "Resumed the notification job, blocked execution without a notice and rescheduled the failed debits.",
            "Compared schedules in IST everywhere and replayed the skipped window."),
        entity_queries=("{bank} autopay mandates not debited on the due date",
                        "{merchant} subscriptions not renewing through upi autopay"),
        symptom_queries=("recurring upi debit did not happen on schedule",
                         "autopay mandate execution skipped last night")),
    Family(
        key="upi_risk_decline", category="upi", services=("upi-switch",), tags=("upi", "decline", "risk"),
        key_slot="bank", extra_keys=("bank", "merchant", "error_code"), weight=0.7, bias=-1, slope=0.2,
        error_codes=("U16",),
        titles=("Spike in {error_code} declines from {bank}", "UPI declines: risk threshold exceeded at {bank}",
                "{merchant} high-value UPI payments declined by issuer", "Unusual {error_code} rate for {bank} payers"),
        descriptions=(
            "{error_code} declines for {bank} payers rose to {pct}% of attempts, mostly first payments above INR "
            "{amount} at {merchant}.",
            "Customers paying from {bank} accounts were declined again and again: {count} declines in {mins} "
            "minutes, all {error_code}.",
            "Nearly every UPI payment to {merchant} from {bank} payers was declined with {error_code} after the "
            "merchant went live on a new MID."),
        root_causes=(
            "{bank} tightened velocity rules for new devices during a fraud campaign and genuine first-time payers "
            "hit the limit.",
            "Our retries re-submitted declined payments at once, counting as more attempts against {bank}'s limit.",
            "The merchant category code sent for {merchant} was wrong, putting its payments in a higher-risk bucket."),
        resolutions=(
            "Agreed with {bank} to relax the rule for verified devices; asked customers to retry later.",
            "Stopped automatic retries on {error_code} and showed a message suggesting another payment method.",
            "Fixed the MCC in the merchant profile and re-registered it with the acquirer."),
        entity_queries=("{bank} declining upi payments with {error_code}",
                        "why are {bank} payers getting risk declines",
                        "{merchant} large upi payments declined by the bank"),
        symptom_queries=("upi payments rejected because the risk limit was exceeded",
                         "bank keeps declining upi for first time payers")),
    Family(
        key="card_tokenization_bin", category="cards", services=("card-vault",), tags=("cards", "tokenization", "bin"),
        key_slot="bank", extra_keys=("bank", "merchant", "error_code"), weight=1.0, bias=0, slope=0.8,
        error_codes=("422", "400"),
        titles=("Card tokenization failing for BIN {bin}", "Token provisioning returns {error_code} for {bank} cards",
                "Saved cards not tokenized for {bank} {network} range {bin}",
                "Network token requests rejected for BIN range {bin}"),
        descriptions=(
            "Customers with {network} cards in BIN range {bin} from {bank} could not save cards; provisioning "
            "returned {error_code} for {pct}% of requests.",
            "{merchant} reported card-on-file tokenization failing for {bank} {network} cards; about {count} "
            "attempts failed since morning.",
            "Token requests to the {network} token service for BIN {bin} were rejected with {error_code} while other "
            "ranges worked."),
        root_causes=(
            "The BIN table in card-vault lacked the new {bin} range {bank} began issuing, so requests named the wrong "
            "network and failed validation.",
            "The request sent card expiry as MMYYYY but the {network} token service expects MMYY.",
            "Our token requestor was not enabled for {bank} as an issuer on {network}, so provisioning was refused."),
        resolutions=(
            "Loaded the latest BIN file, scheduled a daily refresh and retried the failed provisioning.",
            "Fixed the expiry format in the request builder and re-ran tokenization for the affected cards.",
            "Asked the network to enable {bank}; routed those cards through the non-tokenized flow meanwhile."),
        entity_queries=("can't save {bank} cards, tokenization fails", "{bank} cards token provisioning {error_code}",
                        "card on file not working for {bank} customers"),
        symptom_queries=("card tokenization failing for a single bin range",
                         "customers unable to save cards, token provisioning rejected")),
    Family(
        key="card_3ds_acs", category="cards", services=("payments-api",), tags=("cards", "3ds", "acs", "otp"),
        key_slot="bank", extra_keys=("bank", "merchant"), weight=1.0, bias=0, slope=0.0, error_codes=(),
        titles=("3DS challenge page timing out for {bank} cards", "{bank} ACS not responding, payments stuck at OTP",
                "Card authentication failures spike on {bank} ACS", "OTP page not loading for {bank} credit cards"),
        descriptions=(
            "Payments with {bank} cards stuck on the 3DS challenge page; the ACS answered after {secs}s or not at "
            "all and success fell {pct}%.",
            "{merchant} reported customers not receiving OTPs for {bank} cards; {count} authentications abandoned.",
            "Authentication success for {bank} cards fell to {pct2}% at peak; the frictionless flow failed too."),
        root_causes=(
            "{bank}'s ACS provider lost one of its data centres.",
            "The ACS URL for {bank} changed and our cached directory-server response pointed at the old endpoint.",
            "Our 3DS server read timeout of {secs}s was shorter than {bank} ACS latency at their peak."),
        resolutions=(
            "Waited out the {bank} ACS recovery with a bank-down banner at checkout suggesting UPI or another card.",
            "Refreshed the directory-server cache and cut its TTL to one hour.",
            "Raised the ACS timeout to {secs2}s and alerted on per-issuer authentication success."),
        entity_queries=("{bank} card otp page not loading", "3ds failing for {bank} cards", "is {bank} acs down"),
        symptom_queries=("card payments stuck on the otp authentication page",
                         "3d secure challenge times out for one issuer")),
    Family(
        key="card_gateway_credentials", category="cards", services=("gateway-router",),
        tags=("cards", "gateway", "credentials"), key_slot="gateway", extra_keys=("gateway", "merchant", "error_code"),
        weight=0.7, bias=1, slope=0.0, error_codes=("401", "403"),
        titles=("Card authorizations failing on {gateway} with {error_code}",
                "{gateway}: all card payments declined for {merchant}", "Merchant credentials rejected by {gateway}",
                "{gateway} card success rate at zero for {merchant}"),
        descriptions=(
            "Every card payment routed to {gateway} for {merchant} failed with {error_code}; about {count} attempts "
            "before routing moved away.",
            "Card auth calls to {gateway} returned {error_code} starting {mins} minutes after a config deploy.",
            "{merchant}'s card success rate on {gateway} fell from 92% to almost nothing; other gateways healthy."),
        root_causes=(
            "The merchant rotated its {gateway} API key but our credential store still held the old one.",
            "A config deploy overwrote {merchant}'s {gateway} credentials with sandbox values.",
            "{gateway} expired the access token early and our refresh job did not handle {error_code}."),
        resolutions=(
            "Stored the merchant's new key and added a health check that fails over on auth errors.",
            "Restored production credentials from the vault and added an environment check to the pipeline.",
            "Made the token refresh retry on {error_code} and refresh at 80% of the token lifetime."),
        entity_queries=("{gateway} rejecting every card payment with {error_code}",
                        "card payments failing on {gateway} for {merchant}", "all cards declined on {gateway}"),
        symptom_queries=("card payments failing with invalid credentials from the gateway",
                         "every card auth returns unauthorized from the pg")),
    Family(
        key="gateway_failover", category="gateway", services=("gateway-router",), tags=("gateway", "routing", "outage"),
        key_slot="gateway", extra_keys=("gateway", "merchant", "error_code"), weight=1.2, bias=1, slope=-0.2,
        error_codes=("502", "503", "504"),
        titles=("{gateway} degraded, routing did not fail over", "Payment success rate drop: {gateway} downtime",
                "Dynamic routing kept sending traffic to unhealthy {gateway}",
                "{gateway} outage hitting {merchant} checkout"),
        descriptions=(
            "{gateway} returned {error_code} for {pct}% of requests for {mins} minutes but the router kept sending "
            "it traffic; {merchant} success rate fell sharply.",
            "Gateway health scores ignored {gateway} errors because they were counted as customer drop-offs.",
            "Partial outage at {gateway}; about {count} {merchant} payments failed and could not move to another "
            "gateway."),
        root_causes=(
            "The circuit breaker looked at a 15-minute window, too slow for a sharp {gateway} outage.",
            "{error_code} responses were classed as user errors, not gateway errors, so health stayed green.",
            "{merchant} had no secondary gateway for every payment method, so failover had nowhere to go."),
        resolutions=(
            "Failed over to the backup gateway by hand, then cut the breaker window to two minutes.",
            "Counted {error_code} as a gateway failure in scoring and replayed the health metrics.",
            "Configured a secondary gateway for each of {merchant}'s payment methods and a weekly failover drill."),
        entity_queries=("{gateway} is down, why didn't routing switch",
                        "{gateway} throwing {error_code}, payments failing",
                        "{merchant} payments failing because {gateway} is degraded"),
        symptom_queries=("gateway outage but traffic not moving to the backup pg",
                         "success rate tanking and the router still sends to the bad gateway")),
    Family(
        key="gateway_status_sync", category="gateway", services=("payments-api",), tags=("gateway", "sync", "pending"),
        key_slot="gateway", extra_keys=("gateway", "merchant", "error_code"), weight=1.0, bias=0, slope=0.0,
        error_codes=("500", "504"),
        titles=("Transactions stuck in pending: {gateway} status API errors",
                "{gateway} transaction sync returning {error_code}", "Orders stuck in AUTHORIZING on {gateway}",
                "{merchant} orders not moving to charged ({gateway})"),
        descriptions=(
            "About {count} transactions on {gateway} stayed PENDING because the status API returned {error_code}; "
            "customers were debited but orders not confirmed.",
            "{merchant} reported paid orders shown as pending; sync calls to {gateway} failed for {mins} minutes.",
            "The sweeper could not fetch final status from {gateway}; {pct}% of orders in the window stuck in "
            "AUTHORIZING."),
        root_causes=(
            "{gateway} rate limited our status polling after we made the sweeper run more often.",
            "The decoder failed on a new optional field in {gateway}'s status payload and sync counted it an error.",
            "{gateway}'s status API had an incident and our sync had neither backoff nor a webhook fallback."),
        resolutions=(
            "Polled less often with jittered backoff and re-synced the stuck transactions.",
            "Let the decoder ignore unknown fields and re-ran sync for the affected orders.",
            "Added webhook status as a fallback and a bulk re-sync tool for support."),
        entity_queries=("{gateway} payments stuck pending after debit", "orders stuck authorizing on {gateway}",
                        "{merchant} paid orders not confirmed"),
        symptom_queries=("customer was debited but the order is still pending",
                         "transaction status sync failing with 5xx from the gateway")),
    Family(
        key="gateway_encryption", category="gateway", services=("gateway-router",),
        tags=("gateway", "encryption", "rsa"), key_slot="gateway", extra_keys=("gateway", "merchant", "error_code"),
        weight=0.6, bias=1, slope=0.2, error_codes=("500",),
        titles=("{gateway} rejecting requests: decryption failure", "{gateway} cannot read our encrypted payload",
                "{gateway} rejecting our encrypted requests", "Card payments failing on {gateway}: payload invalid"),
        descriptions=(
            "Every request to {gateway} failed with a decryption error after the gateway rotated its public key; "
            "{count} payments failed for {merchant} and others.",
            "After release {version}, {gateway} returned {error_code} with a 'message not recognised' body and "
            "rejected our encrypted card blocks.",
            "After our release {version}, requests to {gateway} failed signature verification at the gateway."),
        root_causes=(
            "We cached {gateway}'s old public key and missed the rotation.",
            "Release {version} switched the RSA padding scheme while {gateway} expects PKCS#1 v1.5.",
            "The signing string put fields in a different order from {gateway}'s spec."),
        resolutions=(
            "Loaded the new public key and now refresh it automatically from the gateway's key endpoint.",
            "Reverted the padding change and added a contract test against the {gateway} sandbox.",
            "Fixed the field order in the signature builder and added sandbox tests to CI."),
        entity_queries=("{gateway} says it cannot decrypt our payload", "{gateway} signature verification failing",
                        "encryption error with {gateway} after their key change"),
        symptom_queries=("gateway rejecting our encrypted card data",
                         "payments failing because the pg cannot decrypt")),
    Family(
        key="refund_insufficient_balance", category="refunds", services=("refunds-api",), tags=("refunds", "balance"),
        key_slot="merchant", extra_keys=("merchant", "gateway"), weight=1.0, bias=-1, slope=0.0, error_codes=(),
        titles=("Refunds failing for {merchant}: insufficient balance at {gateway}",
                "{merchant} refunds rejected, balance too low", "Bulk refunds failed on {gateway} due to low balance",
                "Refund failures with insufficient funds for {merchant}"),
        descriptions=(
            "{count} refunds from {merchant} failed at {gateway} with insufficient balance; the unsettled balance was "
            "below refund volume.",
            "Refunds for {merchant} failed for {hours} hours after a sale because {gateway} nets refunds against the "
            "day's collections.",
            "{merchant} escalated that customers had no refunds; the gateway had answered insufficient funds once "
            "and we never retried."),
        root_causes=(
            "{gateway} takes refunds from the unsettled balance, which an early settlement had drained.",
            "A wave of festive-sale cancellations pushed refunds above {merchant}'s collections for the day.",
            "Our retry logic treated insufficient balance as permanent and failed refunds instead of queueing them."),
        resolutions=(
            "The merchant topped up its {gateway} balance; we re-initiated the failed refunds.",
            "Queued the refunds for the next collection cycle and told the merchant.",
            "Insufficient-balance refunds now stay pending with scheduled retries."),
        entity_queries=("{merchant} refunds failing with insufficient funds",
                        "refunds for {merchant} rejected, low balance"),
        symptom_queries=("refunds rejected because the merchant balance is too low",
                         "bulk refunds failing with insufficient funds")),
    Family(
        key="refund_duplicate", category="refunds", services=("refunds-api",),
        tags=("refunds", "duplicate", "idempotency"), key_slot="gateway",
        extra_keys=("gateway", "merchant", "error_code"), weight=0.8, bias=1, slope=-0.3,
        error_codes=("500", "502", "504"),
        titles=("Duplicate refunds issued on {gateway}", "Customers refunded twice on {gateway}",
                "{merchant}: double refunds for the same order", "Refund retries created duplicates at {gateway}"),
        descriptions=(
            "Retries after {error_code} from {gateway} sent new refund requests instead of checking the first; "
            "{count} orders refunded twice.",
            "{count} orders were refunded twice on {gateway}; the first call timed out with {error_code} but "
            "succeeded at the gateway.",
            "{merchant} found INR {amount} refunded twice in recon; every duplicate went through {gateway}."),
        root_causes=(
            "Refund retries used a fresh request id, so {gateway} saw each as a new refund.",
            "Our {gateway} timeout was {secs}s but its refund API took longer under load; we assumed failure.",
            "Two refund workers took the same job after the queue visibility timeout expired."),
        resolutions=(
            "Retries reuse the original request id after a status check; recovered the duplicates with the merchant.",
            "Raised the timeout to {secs2}s and check refund status before marking anything failed.",
            "Lengthened the visibility timeout and added a unique constraint on order and refund sequence."),
        entity_queries=("{gateway} refunded the same order twice", "double refunds on {gateway} after a timeout",
                        "{merchant} customers got two refunds"),
        symptom_queries=("customers received the refund twice", "refund retry created a duplicate refund")),
    Family(
        key="refund_status_mapping", category="refunds", services=("refunds-api",), tags=("refunds", "sync", "status"),
        key_slot="gateway", extra_keys=("gateway", "merchant", "error_code"), weight=0.9, bias=0, slope=0.0,
        error_codes=("500",),
        titles=("Refund status mismatch with {gateway}", "Refunds marked FAILED but successful at {gateway}",
                "{gateway} refund sync showing wrong final status", "Wrong refund status shown to {merchant}"),
        descriptions=(
            "{count} refunds showed FAILED in our dashboard while {gateway} had processed them; merchants "
            "re-initiated them, risking duplicates.",
            "Refund sync for {gateway} mapped a generic {error_code} answer to a terminal failure.",
            "{merchant} reported refunds marked failed although customers had the money."),
        root_causes=(
            "The status mapping table sent {gateway}'s intermediate status to FAILURE.",
            "When {gateway} returned {error_code} with a generic message, sync failed the refund instead of retrying.",
            "{gateway} added a status code our mapper did not know, and unknown codes defaulted to FAILURE."),
        resolutions=(
            "Fixed the mapping and re-synced every refund from the last {days} days.",
            "A 5xx during sync now means unknown: retry with backoff, never a terminal state.",
            "Unknown statuses now map to PENDING with an alert; added the new code."),
        entity_queries=("{gateway} refunds show failed but the customer got the money",
                        "refund status wrong for {gateway}", "{merchant} refund marked failed but actually processed"),
        symptom_queries=("refund marked failed in the dashboard but it went through",
                         "refund sync status does not match the gateway")),
    Family(
        key="refund_window", category="refunds", services=("refunds-api",), tags=("refunds", "policy"),
        key_slot="gateway", extra_keys=("gateway", "merchant"), weight=0.5, bias=-1, slope=0.0, error_codes=(),
        titles=("{gateway} rejecting refunds outside the refund window", "Refunds for old orders failing on {gateway}",
                "{merchant}: refunds beyond {window} days rejected", "Refund failed at {gateway}: time limit exceeded"),
        descriptions=(
            "Refunds for orders older than {window} days were rejected by {gateway}; {merchant} had {count} of them.",
            "{merchant} started refunds for a returns backlog and {gateway} refused them as past its window.",
            "The refund API returned a time-limit error from {gateway} for {pct}% of today's refunds."),
        root_causes=(
            "{gateway} allows refunds only within {window} days of capture and we did not check the window.",
            "{merchant}'s returns policy is longer than the {gateway} refund window.",
            "Old orders were refunded through the original gateway instead of as a payout."),
        resolutions=(
            "Check the window before calling {gateway}; expired ones go out as bank-transfer payouts.",
            "Explained the window to {merchant} and set up payout refunds for older orders.",
            "Added a refund-mode step: gateway refund inside the window, payout outside it."),
        entity_queries=("{gateway} not allowing refunds for old orders",
                        "{merchant} refunds past the time limit rejected"),
        symptom_queries=("refund rejected because the order is too old",
                         "refund time limit exceeded error from the pg")),
    Family(
        key="webhook_delivery", category="webhooks", services=("webhook-dispatcher",), tags=("webhooks", "delivery"),
        key_slot="merchant", extra_keys=("merchant", "error_code"), weight=1.4, bias=0, slope=0.2,
        error_codes=("429", "500", "503", "504"),
        titles=("Webhooks to {merchant} failing with {error_code}", "{merchant} not receiving payment webhooks",
                "Webhook retries exhausted for {merchant}", "Order update webhooks delayed for {merchant}"),
        descriptions=(
            "The dispatcher got {error_code} from {merchant}'s endpoint for {pct}% of deliveries; {count} events "
            "ran out of retries.",
            "Webhook backlog for {merchant} reached {count} events after their endpoint began answering "
            "{error_code}.",
            "{merchant} said orders were not updated after payment; their endpoint took over {secs}s to answer."),
        root_causes=(
            "{merchant}'s endpoint rate limited us with {error_code} after they added a WAF rule.",
            "A {merchant} deploy made their endpoint return {error_code} for new event types.",
            "Our dispatcher gave up after {secs}s while the merchant's endpoint was slower under sale traffic."),
        resolutions=(
            "The merchant allow-listed our egress IPs; we replayed the failed events.",
            "The merchant fixed their handler; we re-delivered events from the dead-letter queue.",
            "Made the timeout configurable per merchant and drained the backlog."),
        entity_queries=("{merchant} not getting webhooks", "{merchant} endpoint answering {error_code} to our webhooks",
                        "{merchant} orders not updated after payment"),
        symptom_queries=("merchant endpoint not receiving payment notifications",
                         "webhook retries exhausted, events in the dead letter queue")),
    Family(
        key="webhook_signature", category="webhooks", services=("webhook-dispatcher",),
        tags=("webhooks", "hmac", "signature"), key_slot="merchant", extra_keys=("merchant",), weight=0.6, bias=0,
        slope=0.0, error_codes=(),
        titles=("{merchant} rejecting webhooks: signature mismatch", "Webhook HMAC verification failing for {merchant}",
                "Webhook signature mismatch reported by merchants", "{merchant} reports invalid webhook signatures"),
        descriptions=(
            "After the webhook secret was rotated, {merchant}'s verification failed for every event for {hours} hours.",
            "{merchant} rejected our webhooks with 401 because the HMAC did not verify; {count} events affected.",
            "Verification failed at {merchant} only for events with non-ASCII customer names."),
        root_causes=(
            "The dashboard rotated the secret but the dispatcher cached the old one.",
            "We signed the payload before a serializer change re-ordered JSON keys, so the body sent differed.",
            "The signature covered a Unicode-escaped body while the merchant verified the raw UTF-8 bytes."),
        resolutions=(
            "Invalidate the secret cache on rotation; replayed the events.",
            "Sign exactly the bytes we send; added a regression test.",
            "Compute signatures on the raw bytes sent and documented it for merchants."),
        entity_queries=("{merchant} says our webhook signature is invalid", "hmac mismatch on {merchant} webhooks"),
        symptom_queries=("webhook signature verification failing after rotating the secret",
                         "merchant rejecting callbacks because the signature doesn't match")),
    Family(
        key="webhook_retry_storm", category="webhooks", services=("webhook-dispatcher",), tags=("webhooks", "retries"),
        key_slot=None, extra_keys=(), weight=0.5, bias=0, slope=0.0, error_codes=("429",),
        titles=("Webhook retry storm after dispatcher recovery", "Thundering herd of webhook retries",
                "Dispatcher overwhelmed by retries after an outage", "Retry backlog flooding merchant endpoints"),
        descriptions=(
            "After a {mins}-minute dispatcher outage, {count} queued webhooks were retried at once and saturated "
            "workers and merchant endpoints.",
            "Retries from the dead-letter replay hit merchants at {tps2} requests per second; several answered "
            "{error_code}.",
            "Dispatcher CPU sat at 100% for {mins} minutes after a long outage as retries piled up."),
        root_causes=(
            "Retries had no jitter, so every failed event was retried together.",
            "The replay job ignored per-merchant concurrency limits.",
            "Backoff was capped at {secs}s, far too low after a long outage."),
        resolutions=(
            "Added full jitter and a global retry budget.",
            "Throttled replays per merchant and drained the backlog gradually.",
            "Raised the backoff cap and served fresh events ahead of retries."),
        entity_queries=(),
        symptom_queries=("webhook retries overwhelming the service after recovery",
                         "retry storm after an outage, dispatcher cpu maxed out",
                         "thundering herd when replaying callbacks")),
    Family(
        key="settlement_recon_mismatch", category="settlements", services=("recon-worker",),
        tags=("settlement", "reconciliation"), key_slot="bank", extra_keys=("bank", "merchant"), weight=1.1, bias=0,
        slope=0.0, error_codes=(),
        titles=("Settlement reconciliation mismatch with {bank}", "{bank} settlement file does not match the ledger",
                "Unreconciled transactions in {bank} settlement", "Recon break of INR {amount} with {bank}"),
        descriptions=(
            "The recon job flagged {count} {bank} transactions settled under a different date than we booked.",
            "{bank} settlement amounts did not match the expected net for {merchant}; {pct}% of lines unmatched.",
            "Daily recon found {count} ledger transactions short in {bank}'s settlement file, worth INR {amount}."),
        root_causes=(
            "Captures near midnight fell into the next day's settlement at {bank} while our ledger used capture date.",
            "{bank} added a column to its settlement file, shifting amounts by one field.",
            "Refunds netted by {bank} were missing from our expected settlement."),
        resolutions=(
            "Match on the bank's settlement date; re-ran recon for the affected days.",
            "Parse the {bank} file by header names and reprocessed the files.",
            "Included netted refunds in the expected amount and closed the breaks."),
        entity_queries=("{bank} settlement not matching our ledger", "recon mismatch on the {bank} file",
                        "{merchant} settlement amount doesn't match"),
        symptom_queries=("settlement reconciliation showing unmatched transactions",
                         "bank settlement file totals differ from the ledger")),
    Family(
        key="settlement_file_delay", category="settlements", services=("settlement-engine",),
        tags=("settlement", "sftp"), key_slot="bank", extra_keys=("bank", "merchant"), weight=0.9, bias=-1,
        slope=-0.6, error_codes=(),
        titles=("{bank} settlement file delayed", "T+1 settlements late: {bank} file arrived late",
                "Missing settlement file from {bank} on SFTP",
                "Settlement acknowledgement from {bank} {hours} hours late"),
        descriptions=(
            "{bank}'s settlement file reached SFTP {hours} hours late, delaying payouts to {count} merchants.",
            "The SFTP poller found no {bank} file at cutoff; merchants including {merchant} escalated missing payouts.",
            "The {bank} file was not where the poller looked and settlement-engine held the batch for {hours} hours."),
        root_causes=(
            "{bank} had a batch processing delay on their side.",
            "{bank} rotated its SFTP host key and our poller rejected the connection without alerting.",
            "After a migration {bank} dropped the file in a new directory."),
        resolutions=(
            "Chased {bank}, processed the file when it landed and informed merchants.",
            "Trusted the new host key and alerted on SFTP authentication failures.",
            "Updated the poll path and alert when no file has arrived by cutoff."),
        entity_queries=("{bank} settlement file has not arrived", "payouts delayed because the {bank} file is late",
                        "sftp missing the {bank} file"),
        symptom_queries=("settlement file from the bank arrived late, payouts delayed",
                         "no settlement file on sftp at cutoff")),
    Family(
        key="settlement_report", category="settlements", services=("settlement-engine",),
        tags=("settlement", "report", "mdr"), key_slot="merchant", extra_keys=("merchant",), weight=0.7, bias=-1,
        slope=0.0, error_codes=(),
        titles=("{merchant} settlement report incorrect", "Settlement report discrepancy for {merchant}",
                "{merchant} disputes figures in its settlement report", "Settlement report error raised by {merchant}"),
        descriptions=(
            "{merchant} was charged {mdr}% MDR on {network} credit cards instead of the agreed rate.",
            "The daily settlement report for {merchant} left out {count} transactions captured after 23:00.",
            "Settlement report totals for {merchant} differed from payouts by INR {amount}."),
        root_causes=(
            "A bulk pricing update set the wrong MDR for {network} credit cards on {merchant}.",
            "The report used UTC day boundaries while settlements use IST.",
            "The report generator skipped transactions that had adjustments."),
        resolutions=(
            "Fixed the pricing config, recomputed fees and issued {merchant} a credit note.",
            "Report days now follow IST; regenerated the reports.",
            "Included adjusted transactions and regenerated the report."),
        entity_queries=("{merchant} says settlement report numbers are wrong", "{merchant} charged the wrong mdr"),
        symptom_queries=("settlement report shows wrong fees",
                         "transactions missing from the daily settlement report")),
    Family(
        key="merchant_tps_limit", category="payments", services=("payments-api",), tags=("rate-limit", "tps", "sale"),
        key_slot="merchant", extra_keys=("merchant", "error_code"), weight=0.8, bias=0, slope=0.3,
        error_codes=("429",),
        titles=("{merchant} hitting its TPS limit during a sale", "{error_code}s for {merchant} at peak traffic",
                "Rate limit exceeded for {merchant} order creation", "{merchant} flash sale throttled by API limits"),
        descriptions=(
            "{merchant} exceeded its {tps} TPS limit in a sale; {pct}% of order-create calls returned {error_code}.",
            "Order creation for {merchant} was throttled for {mins} minutes at peak; {count} requests rejected.",
            "Order creation for {merchant} was throttled after a scale-down although traffic was within its {tps} "
            "TPS limit."),
        root_causes=(
            "The per-merchant limit was still the default {tps} TPS; no increase had been requested.",
            "The limiter counted retries, so client retries made the throttling worse.",
            "The token bucket was per pod, so a scale-down shrank the effective limit."),
        resolutions=(
            "Raised the limit to {tps2} TPS after a capacity check and asked the merchant to pre-announce sales.",
            "Idempotent retries no longer count against the limit; advised client backoff.",
            "Moved the limiter to a shared Redis bucket so the limit no longer depends on pod count."),
        entity_queries=("{merchant} getting too many requests errors", "{merchant} throttled during their sale"),
        symptom_queries=("merchant getting rate limited at peak", "api rate limit hit during a flash sale")),
    Family(
        key="otp_delivery_delay", category="notifications", services=("notification-service",),
        tags=("otp", "sms", "latency"), key_slot=None, extra_keys=(), weight=0.7, bias=0, slope=-0.2, error_codes=(),
        titles=("OTP SMS delivery delayed", "OTP latency above {secs}s in the evening peak",
                "Customers not receiving OTP SMS", "SMS vendor delays hitting OTP delivery"),
        descriptions=(
            "OTP SMS took over {secs}s to arrive for {pct}% of messages between 20:00 and 21:00.",
            "Customers reported missing OTPs; {count} resend requests in {mins} minutes.",
            "Delivery receipts from the primary SMS vendor were late; login and payment OTPs affected."),
        root_causes=(
            "The SMS vendor throttled us at peak without notice.",
            "A DLT template mismatch made operators filter the messages.",
            "The vendor's queue backed up after a telecom operator outage."),
        resolutions=(
            "Moved OTP traffic to the secondary vendor and route by latency.",
            "Re-registered the DLT template with the exact message text.",
            "Fail over vendors automatically when p95 latency passes {secs}s."),
        entity_queries=(),
        symptom_queries=("users not getting the otp sms on time", "otp messages arriving very late in the evening",
                         "sms vendor slow, otp delayed")),
    Family(
        key="k8s_oomkilled", category="kubernetes", services=APP_SERVICES, tags=("kubernetes", "memory", "oomkilled"),
        key_slot="service", extra_keys=("error_code",), weight=1.3, bias=0, slope=0.8, error_codes=("OOMKilled",),
        titles=("{service} pods OOMKilled", "Memory growth in {service} causing OOMKilled restarts",
                "{service} containers killed above the {mem}Mi limit", "Frequent {service} restarts ({error_code})"),
        descriptions=(
            "{service} memory grew steadily after release {version} until containers hit the {mem}Mi limit.",
            "{service} pods restarted {few} times in {mins} minutes with reason OOMKilled; error rate rose {pct}%.",
            "{service} pods in {region} were killed by the OOM killer during peak traffic."),
        root_causes=(
            "Release {version} added an unbounded in-memory cache.",
            "The JVM heap was set close to the container limit, leaving no room for off-heap memory.",
            "A large batch request loaded its whole result set into memory."),
        resolutions=(
            "Rolled back, then bounded the cache with an LRU policy.",
            "Set the heap to 70% of the limit and raised the limit to {mem2}Mi.",
            "Paginated the batch query and alert at 85% of the memory limit."),
        entity_queries=("{service} pods keep getting oomkilled", "{service} restarting, out of memory"),
        symptom_queries=("pods keep restarting with OOMKilled", "container memory limit exceeded after a deploy")),
    Family(
        key="k8s_crashloop", category="kubernetes", services=APP_SERVICES, tags=("kubernetes", "deploy", "crashloop"),
        key_slot="service", extra_keys=("error_code",), weight=1.1, bias=0, slope=0.6,
        error_codes=("CrashLoopBackOff",),
        titles=("{service} in CrashLoopBackOff after deploy", "{service} pods failing to start",
                "Deployment of {service} {version} stuck in CrashLoopBackOff", "{service} crash looping in {region}"),
        descriptions=(
            "Rollout of {service} {version} left new pods in CrashLoopBackOff; the old ReplicaSet served at reduced "
            "capacity.",
            "{service} pods exited at startup with a config error; {few} restarts before the rollout was paused.",
            "Liveness probes killed {service} pods before warm-up finished, so they crash looped."),
        root_causes=(
            "A required secret was missing from the {region} namespace.",
            "A new environment variable had a typo in the Helm values and config validation failed.",
            "The liveness probe's initial delay was shorter than startup after a dependency upgrade."),
        resolutions=(
            "Created the secret, resumed the rollout and added a pre-deploy secret check.",
            "Fixed the Helm values and validate them against a schema in CI.",
            "Added a startup probe and relaxed the liveness timings."),
        entity_queries=("{service} stuck in crashloopbackoff", "{service} pods won't start after the release"),
        symptom_queries=("pods crash looping right after deployment", "new pods fail to start, rollout stuck")),
    Family(
        key="k8s_hpa", category="kubernetes", services=APP_SERVICES, tags=("kubernetes", "autoscaling", "hpa"),
        key_slot="service", extra_keys=(), weight=0.8, bias=0, slope=0.6, error_codes=(),
        titles=("HPA not scaling {service} under load", "{service} not scaling out at peak",
                "Autoscaling lag for {service} during a traffic spike", "{service} latency up: HPA not adding pods"),
        descriptions=(
            "The HPA for {service} reported unknown metrics and did not scale for {mins} minutes.",
            "{service} reached maxReplicas of {replicas} and requests queued; p99 latency hit {p99}ms.",
            "At peak {service} stayed at {replicas} replicas with CPU above 90%; p99 latency reached {p99}ms."),
        root_causes=(
            "metrics-server was down, so the HPA had no metrics.",
            "maxReplicas was too low for festive traffic.",
            "The HPA scaled on memory, which does not rise with request load for this service."),
        resolutions=(
            "Restarted metrics-server with more resources and alert on its availability.",
            "Raised maxReplicas after a load test and pre-scale before sales.",
            "Scale on CPU and requests per second instead."),
        entity_queries=("{service} not autoscaling", "hpa stuck for {service}"),
        symptom_queries=("autoscaler not adding pods during a traffic spike",
                         "hpa shows unknown metrics, no scale up")),
    Family(
        key="k8s_node_pressure", category="kubernetes", services=("k8s-platform",),
        tags=("kubernetes", "nodes", "eviction"), key_slot="region", extra_keys=(), weight=0.8, bias=-1, slope=0.5,
        error_codes=(),
        titles=("Node disk pressure evicting pods in {region}", "Pods evicted from {node} in {region}",
                "Node pool in {region} under resource pressure", "Mass pod evictions on the {region} cluster"),
        descriptions=(
            "Nodes in {region} reported DiskPressure; {few} pods were evicted and rescheduled.",
            "Node {node} in {region} hit memory pressure and the kubelet evicted BestEffort pods.",
            "Image garbage collection fell behind; {pct}% of nodes in {region} flagged DiskPressure."),
        root_causes=(
            "Container logs were not rotated and filled the node disks.",
            "Pods without memory requests overcommitted the nodes.",
            "A large image pulled by a batch job filled ephemeral storage."),
        resolutions=(
            "Turned on log rotation and cordoned and drained the affected nodes.",
            "Enforced requests and limits with a LimitRange and rebalanced.",
            "Grew node disks and set ephemeral-storage limits."),
        entity_queries=("pods getting evicted in {region}", "disk pressure on nodes in {region}"),
        symptom_queries=("kubelet evicting pods because of node pressure",
                         "nodes showing diskpressure, pods rescheduled")),
    Family(
        key="db_pool_exhaustion", category="database", services=APP_SERVICES,
        tags=("database", "postgres", "connection-pool"), key_slot="service", extra_keys=("error_code",), weight=1.2,
        bias=1, slope=0.0, error_codes=("53300",),
        titles=("{service} DB connection pool exhausted", "Timeouts acquiring DB connections in {service}",
                "{service}: postgres too many connections", "Connection pool saturation on {service}"),
        descriptions=(
            "{service} threads waited on the connection pool (size {pool}); requests timed out after {secs}s and "
            "errors rose to {pct}%.",
            "postgres-primary refused connections with {error_code}; {service} failed for {mins} minutes.",
            "{service} p99 latency jumped to {p99}ms, mostly time spent waiting for a connection."),
        root_causes=(
            "A code path held a connection across an external HTTP call.",
            "Every new pod opened {pool} connections, so scaling out passed max_connections.",
            "Release {version} leaked connections on an error path."),
        resolutions=(
            "Moved the external call outside the transaction.",
            "Put PgBouncer in front of the primary and shrank the per-pod pool.",
            "Fixed the leak and turned on leak-detection logging."),
        entity_queries=("{service} can't get db connections", "{service} connection pool exhausted again"),
        symptom_queries=("database connection pool exhausted, requests timing out",
                         "too many connections error on postgres")),
    Family(
        key="db_replication_lag", category="database", services=("postgres-primary",),
        tags=("database", "replication"), key_slot="region", extra_keys=(), weight=0.8, bias=0, slope=0.0,
        error_codes=(),
        titles=("Replication lag on the read replica in {region}", "Stale reads: replica lag {lag_s}s",
                "Read replica falling behind the primary", "Payment status stale because of replica lag ({region})"),
        descriptions=(
            "WAL replay on the {region} replica could not keep up with a bulk update; lag reached {lag_s}s.",
            "The replica in {region} lagged {lag_s}s behind the primary; status pages showed stale payment states.",
            "Replication lag alerts fired in {region}; {count} status reads returned outdated rows."),
        root_causes=(
            "A bulk backfill generated heavy WAL.",
            "A long analytics query on the replica blocked WAL replay.",
            "The replica had lower IOPS than the primary."),
        resolutions=(
            "Throttled the backfill into small batches.",
            "Moved analytics to a dedicated replica and capped max_standby_streaming_delay.",
            "Matched the replica's storage to the primary."),
        entity_queries=("replica lag in {region}, stale reads", "read replica behind the primary in {region}"),
        symptom_queries=("read replica lagging, users see stale status",
                         "replication lag causing outdated payment status")),
    Family(
        key="db_deadlock", category="database", services=APP_SERVICES, tags=("database", "postgres", "locks"),
        key_slot="service", extra_keys=("error_code",), weight=0.7, bias=0, slope=-0.3, error_codes=("40P01",),
        titles=("Deadlocks in {service} on {table}", "{service} transactions failing with deadlock detected",
                "Lock contention on the {table} table", "{error_code} errors in {service}"),
        descriptions=(
            "{service} logged {few} deadlock errors ({error_code}) a minute on {table}.",
            "Updates to {table} from {service} and a batch job deadlocked; requests failed and were retried.",
            "Lock waits on {table} grew and {service} p99 reached {p99}ms."),
        root_causes=(
            "Two code paths updated {table} rows in different orders.",
            "A batch job held row locks in large transactions at peak.",
            "A missing index on a foreign key made updates lock far more rows."),
        resolutions=(
            "Lock rows in a consistent order (by primary key).",
            "Moved the batch off-peak in smaller transactions.",
            "Added the missing index."),
        entity_queries=("{service} getting deadlock detected errors", "deadlocks in the {service} database"),
        symptom_queries=("deadlock detected errors in postgres", "transactions failing on lock contention")),
    Family(
        key="db_slow_query", category="database", services=APP_SERVICES, tags=("database", "postgres", "performance"),
        key_slot="service", extra_keys=(), weight=1.0, bias=0, slope=0.0, error_codes=(),
        titles=("Slow queries on {table}", "{service} latency from a full table scan",
                "Query plan regression in {service}", "{service} p99 at {p99}ms: slow query on {table}"),
        descriptions=(
            "After migration {version}, queries on {table} from {service} took {secs}s; postgres-primary CPU hit 95%.",
            "{service} endpoints timed out when a query on {table} switched to a sequential scan.",
            "The slow query log showed {count} slow queries a minute on {table} from {service}."),
        root_causes=(
            "The migration recreated an index without the status column.",
            "Planner statistics were stale after a bulk load.",
            "An ORM change wrapped an indexed column in a function."),
        resolutions=(
            "Recreated the composite index concurrently.",
            "Ran ANALYZE and tuned autovacuum for the table.",
            "Rewrote the query so the index can be used."),
        entity_queries=("{service} slow, db queries taking seconds", "{service} latency from a slow query"),
        symptom_queries=("postgres query suddenly doing a full table scan",
                         "slow queries after a migration, db cpu high")),
    Family(
        key="dns_resolution", category="network", services=("k8s-platform",), tags=("network", "dns", "coredns"),
        key_slot="region", extra_keys=("error_code",), weight=0.7, bias=1, slope=0.0,
        error_codes=("SERVFAIL", "NXDOMAIN"),
        titles=("DNS resolution failures in {region}", "Intermittent {error_code} resolving gateway hosts",
                "CoreDNS overloaded in the {region} cluster", "Outbound calls failing: DNS lookup timeouts"),
        descriptions=(
            "DNS queries per second in {region} tripled, most of them for search-domain variants; some returned "
            "{error_code}.",
            "CoreDNS latency spiked in {region}; lookups timed out after {secs}s.",
            "Pods in {region} failed to resolve external gateway hosts with {error_code}; {pct}% of outbound calls "
            "failed."),
        root_causes=(
            "ndots:5 made every external lookup try the cluster search domains first.",
            "CoreDNS had too few replicas for the query rate.",
            "The upstream resolver rate limited the cluster."),
        resolutions=(
            "Set ndots:2 and use fully qualified names with a trailing dot.",
            "Scaled CoreDNS and enabled NodeLocal DNSCache.",
            "Added a local cache and a secondary resolver."),
        entity_queries=("dns lookups failing in {region}", "{error_code} when resolving hosts in {region}"),
        symptom_queries=("intermittent dns resolution failures for external hosts",
                         "coredns timeouts inside the cluster")),
    Family(
        key="tls_cert_expiry", category="network",
        services=("edge-lb", "webhook-dispatcher", "gateway-router", "settlement-engine"),
        tags=("network", "tls", "certificate"), key_slot="service", extra_keys=(), weight=0.5, bias=1, slope=-0.3,
        error_codes=(),
        titles=("TLS certificate expired on {host}", "Expired certificate broke calls from {service}",
                "{service}: x509 certificate has expired", "Certificate expiry outage on {host}"),
        descriptions=(
            "The certificate for {host} expired; TLS handshakes from {service} failed for {mins} minutes.",
            "{service} calls failed with 'x509: certificate has expired'; {count} requests failed.",
            "The endpoint {host} used by {service} served an expired intermediate certificate."),
        root_causes=(
            "Auto-renewal failed silently because the DNS challenge record had been removed.",
            "The certificate was installed by hand and missing from the expiry inventory.",
            "The partner renewed the leaf but kept serving an expired intermediate."),
        resolutions=(
            "Renewed and deployed the certificate; alerts now fire 30, 14 and 7 days before expiry.",
            "Moved the certificate to cert-manager.",
            "Pinned the correct chain and told the partner."),
        entity_queries=("{service} failing the tls handshake, cert expired?", "{service} x509 certificate expired"),
        symptom_queries=("ssl certificate expired, handshake failing", "x509 certificate has expired in the logs")),
    Family(
        key="lb_5xx", category="network", services=("edge-lb",), tags=("network", "load-balancer", "5xx"),
        key_slot="error_code", extra_keys=("error_code",), weight=0.9, bias=0, slope=0.0, error_codes=("502", "504"),
        titles=("{error_code}s from the load balancer in front of payments-api",
                "Intermittent {error_code} at the edge",
                "ALB returning {error_code} during peak", "Edge {error_code}s on the checkout path"),
        descriptions=(
            "The load balancer returned {error_code} for {pct}% of requests for {mins} minutes; backends looked "
            "healthy.",
            "Report downloads behind the edge failed with {error_code} after exactly {secs}s while application logs "
            "showed no errors.",
            "{count} requests failed at the edge with {error_code} during a deploy."),
        root_causes=(
            "The app's keep-alive timeout was shorter than the load balancer idle timeout, so closed connections "
            "were reused.",
            "The idle timeout of {secs}s was shorter than slow report endpoints needed.",
            "Pods were terminated before being deregistered during deploys."),
        resolutions=(
            "Set the app keep-alive above the load balancer idle timeout.",
            "Raised the idle timeout for those routes and made reports asynchronous.",
            "Added a preStop sleep and connection draining."),
        entity_queries=("lots of {error_code} errors from the load balancer",
                        "seeing random {error_code} errors at the edge"),
        symptom_queries=("load balancer returning bad gateway now and then",
                         "gateway timeout at the lb but app logs clean")),
    Family(
        key="kafka_consumer_lag", category="queue", services=("kafka-cluster",), tags=("kafka", "consumer-lag"),
        key_slot=None, extra_keys=(), weight=0.8, bias=0, slope=0.4, error_codes=(),
        titles=("Kafka consumer lag on {topic}", "Consumers falling behind on {topic}",
                "Consumer group unhealthy on {topic}", "Event processing delayed: lag {lag} messages"),
        descriptions=(
            "Consumers of {topic} rebalanced again and again and throughput fell to almost nothing.",
            "Partition skew on {topic}: one partition lagged {lag} messages while the others were idle.",
            "Consumer lag on {topic} reached {lag} messages; processing ran {mins} minutes behind."),
        root_causes=(
            "Slow processing exceeded max.poll.interval.ms and triggered rebalances.",
            "A hot key sent most events to one partition.",
            "There were fewer consumers than partitions after a scale-down."),
        resolutions=(
            "Smaller poll batches and a longer max.poll.interval.ms.",
            "Changed the partition key to spread the load.",
            "Scaled consumers to the partition count and alert on lag."),
        entity_queries=(),
        symptom_queries=("kafka consumer lag increasing, events delayed", "consumer group stuck rebalancing")),
    Family(
        key="game_day", category="sre", services=SERVICES, tags=("game-day", "chaos", "drill"),
        key_slot=None, extra_keys=(), weight=0.0, bias=-1, slope=0.0, error_codes=(),
        titles=("[Game day] Simulated {drill}", "Game day: {drill} exercise", "Chaos drill: {drill} on {service}"),
        descriptions=(
            "Planned game day: {drill} against {service} in {region}. Detection took {mins} minutes.",
            "Scheduled chaos exercise ({drill}) on {service}; alerts fired after {mins} minutes, later than target.",
            "Drill of {drill} for {service}; on-call followed the runbook and failover completed, no customer "
            "impact."),
        root_causes=(
            "Planned exercise; the runbook step for {drill} was out of date.",
            "Planned exercise; the alert for {service} fired later than its target.",
            "Planned exercise; no gaps found."),
        resolutions=(
            "Exercise complete; action items filed to update the runbook.",
            "Exercise complete; tightened the alert threshold.",
            "Exercise complete; next drill scheduled for next quarter."),
        entity_queries=(), symptom_queries=()),
)

FAMILY_INDEX = {family.key: index for index, family in enumerate(FAMILIES)}
