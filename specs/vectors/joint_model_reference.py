#!/usr/bin/env python3
"""An independent reference implementation of specs/joint-model.md (joint-1.0.0),
written from the text, not from the C++ code. It writes the test vectors
specs/vectors/joint-model.json that tests/joint_model_test.cc checks the C++ model
against.  Run: python3 specs/vectors/joint_model_reference.py > specs/vectors/joint-model.json
"""
import datetime
import json
import math

REF_PD = 1 / 51
GRADE_PD = {"A+": 0.0003, "A": 0.0012, "B": 0.004, "C": 0.015, "D": 0.055, "E": 0.25}
MIN_PD, MAX_PD = 1e-5, 0.9999
RATES = {"CNY": 1.0, "HKD": 0.92, "USD": 7.2, "EUR": 7.8, "MOP": 0.89}
SECRECY = {"VG", "KY", "BM", "SC", "PA", "WS", "MH", "BS", "AI", "JE", "GG", "IM"}
SCALES = {
    "sz-six-level": [("A+", 0.0005), ("A", 0.002), ("B", 0.008), ("C", 0.03), ("D", 0.10), ("E", 1.0)],
    "hk-bureau": [("A", 0.0003), ("B", 0.001), ("C", 0.0025), ("D", 0.005), ("E", 0.01),
                  ("F", 0.02), ("G", 0.05), ("H", 0.10), ("I", 0.20), ("J", 1.0)],
}


def logit(p):
    return math.log(p / (1 - p))


def logistic(x):
    return 1 / (1 + math.exp(-x))


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


def day(s):
    return datetime.date.fromisoformat(s).toordinal()


def months_before(d, months):
    date = datetime.date.fromordinal(d)
    total = date.year * 12 + (date.month - 1) - months
    y, m = divmod(total, 12)
    m += 1
    import calendar
    last = calendar.monthrange(y, m)[1]
    return datetime.date(y, m, min(date.day, last)).toordinal()


def period_end(period):
    import calendar
    y, m = int(period[:4]), int(period[5:7])
    return datetime.date(y, m, calendar.monthrange(y, m)[1]).toordinal()


def native_sz(r):
    reasons = []
    grade_logit = logit(GRADE_PD[r["grade"]])
    x = grade_logit
    reasons.append(("SZ_GRADE", grade_logit - logit(REF_PD)))
    for flag, code, w in (("serious_dishonesty", "SZ_SERIOUS_DISHONESTY", 1.50),
                          ("abnormal_operation", "SZ_ABNORMAL_OPERATION", 0.80),
                          ("shell_risk", "SZ_SHELL_RISK", 0.60)):
        if r.get(flag):
            x += w
            reasons.append((code, w))
    return logistic(x), reasons


def native_hk(r, as_of):
    per_point = -math.log(2) / 20
    points, reasons = 0.0, []

    def add(code, p):
        nonlocal points
        points += p
        if p != 0:
            reasons.append((code, p * per_point))

    a = day(as_of)
    five = months_before(a, 60)
    if r.get("incorporation_date"):
        years = (a - day(r["incorporation_date"])) / 365.25
        add("HK_YEARS_TRADING", -15 if years < 2 else -5 if years < 5 else 5 if years < 10 else 15)
    facilities = r.get("facilities", [])
    if facilities:
        dpd = max(f["worst_dpd_12m"] for f in facilities)
        add("HK_WORST_DPD", 20 if dpd == 0 else 0 if dpd < 30 else -15 if dpd < 60 else -25 if dpd < 90 else -40)
    limit = sum(f["limit"] for f in facilities if f["status"] == "current" and f["limit"] > 0)
    used = sum(f["outstanding"] for f in facilities if f["status"] == "current" and f["limit"] > 0)
    if limit > 0:
        u = used / limit
        add("HK_UTILISATION", 10 if u < 0.30 else 0 if u < 0.70 else -5 if u < 0.90 else -15)
    defaults = sum(1 for d in r.get("defaults", []) if day(d["date"]) >= five)
    if defaults:
        add("HK_DEFAULTS", -40 if defaults == 1 else -60)
    judgments = sum(1 for j in r.get("judgments", []) if not j["satisfied"] and day(j["date"]) >= five)
    if judgments:
        add("HK_JUDGMENTS", -20 if judgments == 1 else -35)
    if any(day(p) >= five for p in r.get("winding_up_petitions", [])):
        add("HK_WINDING_UP", -60)
    if any(f["status"] == "written_off" for f in facilities):
        add("HK_WRITE_OFF", -40)
    paid = sum(t["amount"] for t in r.get("trade_payments", []))
    if paid > 0:
        dbt = sum(t["amount"] * t["days_beyond_terms"] for t in r["trade_payments"]) / paid
        add("HK_TRADE_DBT", 10 if dbt < 5 else 0 if dbt < 30 else -10 if dbt < 60 else -25)
    return logistic(-math.log(50) + points * per_point), reasons


def dbt_score(days):
    pts = [(0, 80), (15, 70), (22, 60), (30, 50), (60, 40), (90, 30), (120, 20)]
    if not days > 0:
        return 80.0
    for (d0, s0), (d1, s1) in zip(pts, pts[1:]):
        if days <= d1:
            return s0 + (days - d0) / (d1 - d0) * (s1 - s0)
    return 20.0


def performance(records, period):
    end = period_end(period)
    start = months_before(end, 24)
    n = amount_all = rated = on_time = weighted = 0.0
    defaults = disputes = 0
    for r in records:
        due = day(r["due_date"])
        if due <= start or due > end:
            continue
        amt = r["amount"] * RATES.get(r["currency"], 1.0)
        n += 1
        amount_all += amt
        if r["status"] == "disputed":
            disputes += 1
            continue
        if r["status"] == "defaulted":
            defaults += 1
            weighted += amt * 120
        elif r["status"] == "late":
            weighted += amt * (day(r["settled_date"]) - due)
        else:
            on_time += amt
        rated += amt
    rate = on_time / rated if rated > 0 else 0.95
    dbt = weighted / rated if rated > 0 else 0
    score = dbt_score(dbt)
    if n < 3 or amount_all < 100000:
        return []
    out = [("XB_ON_TIME", 2.0 * (0.95 - rate)), ("XB_DAYS_BEYOND_TERMS", 0.04 * (80 - score)),
           ("XB_DEFAULTS", 0.60 * min(defaults, 3)), ("XB_DISPUTES", 0.20 * min(disputes, 3))]
    return [(c, v) for c, v in out if v != 0]


def equity(e, native_pd):
    out = []
    nl = logit(clamp(native_pd, MIN_PD, MAX_PD))
    excess = sum(p["integrated_share"] * (logit(clamp(p["pd"], MIN_PD, MAX_PD)) - nl)
                 for p in e.get("parents", []) if p["integrated_share"] >= 0.10)
    out.append(("EQ_PARENT_RISK", 0.50 * excess))
    layers = min(e.get("layers_to_beneficial_owner", 0), 5)
    if layers > 2:
        out.append(("EQ_LAYERS", 0.10 * (layers - 2)))
    if e.get("secrecy_jurisdictions"):
        out.append(("EQ_SECRECY_JURISDICTION", 0.40))
    if e.get("ring_on_chain"):
        out.append(("EQ_RING", 0.25))
    if e.get("no_identifiable_beneficial_owner"):
        out.append(("EQ_NO_BENEFICIAL_OWNER", 0.35))
    if e.get("shell_on_chain"):
        out.append(("EQ_SHELL_ON_CHAIN", 0.30))
    out.append(("EQ_UNKNOWN_OWNERSHIP", 0.50 * e.get("unknown_share", 0)))
    return [(c, v) for c, v in out if v != 0]


def grade(scale, pd):
    for g, high in SCALES[scale]:
        if pd < high:
            return g
    return SCALES[scale][-1][0]


def evaluate(case):
    n = case["native"]
    if n["kind"] == "sz":
        native_pd, reasons = native_sz(n["record"])
    elif n["kind"] == "hk":
        native_pd, reasons = native_hk(n["record"], n["as_of"])
    else:
        native_pd, reasons = 0.02, [("NO_NATIVE_DATA", logit(0.02) - logit(REF_PD))]
    native_pd = clamp(native_pd, MIN_PD, MAX_PD)
    reasons = reasons + equity(case["equity"], native_pd) + performance(case["performance"], case["period"])
    x = logit(native_pd) + sum(v for c, v in reasons if not (c.startswith("SZ_") or c.startswith("HK_") or c == "NO_NATIVE_DATA"))
    joint_pd = clamp(logistic(x), MIN_PD, MAX_PD)
    score = 600 + 20 / math.log(2) * math.log(((1 - joint_pd) / joint_pd) / 50)
    score = int(math.floor(clamp(score, 0, 1000) + 0.5))
    top = sorted(reasons, key=lambda r: (-abs(r[1]), r[0]))[:4]
    return {
        "native_pd": native_pd,
        "joint_pd": joint_pd,
        "score": score,
        "grades": {s: grade(s, joint_pd) for s in SCALES},
        "all_reasons": [{"code": c, "contribution": v} for c, v in reasons],
        "top_reasons": [{"code": c, "contribution": v} for c, v in top],
    }


def perf(due, status, amount, currency="CNY", settled=None, rid=None):
    return {"record_id": rid or f"r-{due}-{amount}", "due_date": due, "settled_date": settled or "",
            "amount": amount, "currency": currency, "status": status, "kind": "trade_payment",
            "counterparty_jurisdiction": "HK"}


CASES = [
    {"name": "sz-a-plain", "period": "2026-10",
     "native": {"kind": "sz", "record": {"grade": "A"}},
     "equity": {}, "performance": []},
    {"name": "sz-c-dishonest-opaque-late-payer", "period": "2026-10",
     "native": {"kind": "sz", "record": {"grade": "C", "serious_dishonesty": True}},
     "equity": {"parents": [{"id": "hkcrn:1234567", "integrated_share": 0.6, "pd": 0.08},
                            {"id": "lei:5493001KJTIIGC8Y1R12", "integrated_share": 0.05, "pd": 0.5}],
                "layers_to_beneficial_owner": 4, "secrecy_jurisdictions": ["VG"],
                "ring_on_chain": True, "unknown_share": 0.1, "crosses_border": True},
     "performance": [perf("2026-01-31", "late", 200000, "HKD", "2026-03-02"),
                     perf("2026-03-31", "on_time", 150000, "CNY", "2026-03-30"),
                     perf("2025-12-15", "defaulted", 50000, "USD"),
                     perf("2026-06-30", "disputed", 80000, "CNY"),
                     perf("2024-09-30", "defaulted", 1000000, "CNY"),   # outside the window
                     perf("2026-11-05", "defaulted", 1000000, "CNY")]},  # after the period
    {"name": "hk-scorecard-mixed", "period": "2026-10",
     "native": {"kind": "hk", "as_of": "2026-10-31", "record": {
         "incorporation_date": "2023-06-01",
         "facilities": [{"limit": 1000000, "outstanding": 820000, "worst_dpd_12m": 35, "status": "current"},
                        {"limit": 500000, "outstanding": 0, "worst_dpd_12m": 0, "status": "closed"}],
         "defaults": [{"date": "2024-02-01", "amount": 30000}, {"date": "2019-01-01", "amount": 9000}],
         "judgments": [{"date": "2025-05-05", "amount": 12000, "satisfied": False},
                       {"date": "2025-07-05", "amount": 12000, "satisfied": True}],
         "winding_up_petitions": ["2020-01-01"],
         "trade_payments": [{"days_beyond_terms": 10, "amount": 100000},
                            {"days_beyond_terms": 14, "amount": 50000}]}},
     "equity": {"layers_to_beneficial_owner": 1},
     "performance": [perf("2026-02-28", "on_time", 60000, "HKD", "2026-02-27"),
                     perf("2026-04-30", "on_time", 70000, "HKD", "2026-04-30"),
                     perf("2026-06-30", "on_time", 80000, "HKD", "2026-06-01")]},
    {"name": "hk-scorecard-distressed", "period": "2026-10",
     "native": {"kind": "hk", "as_of": "2026-10-31", "record": {
         "incorporation_date": "2025-01-01",
         "facilities": [{"limit": 100000, "outstanding": 99000, "worst_dpd_12m": 120, "status": "current"},
                        {"limit": 200000, "outstanding": 200000, "worst_dpd_12m": 180, "status": "written_off"}],
         "defaults": [{"date": "2025-02-01", "amount": 30000}, {"date": "2026-01-01", "amount": 9000}],
         "judgments": [{"date": "2025-05-05", "amount": 12000, "satisfied": False},
                       {"date": "2026-07-05", "amount": 12000, "satisfied": False}],
         "winding_up_petitions": ["2026-09-01"],
         "trade_payments": [{"days_beyond_terms": 75, "amount": 10000}]}},
     "equity": {}, "performance": []},
    {"name": "offshore-no-native-no-owner", "period": "2026-10",
     "native": {"kind": "none"},
     "equity": {"no_identifiable_beneficial_owner": True, "shell_on_chain": True,
                "secrecy_jurisdictions": ["KY", "VG"], "layers_to_beneficial_owner": 9},
     "performance": [perf("2026-01-31", "on_time", 40000, "USD", "2026-01-31"),
                     perf("2026-02-28", "on_time", 40000, "USD", "2026-02-20")]},
    {"name": "sz-e-everything-clamped", "period": "2026-10",
     "native": {"kind": "sz", "record": {"grade": "E", "serious_dishonesty": True,
                                         "abnormal_operation": True, "shell_risk": True}},
     "equity": {"parents": [{"id": "uscc:91440300MA5G2U7B88", "integrated_share": 1.0, "pd": 0.99}],
                "ring_on_chain": True, "no_identifiable_beneficial_owner": True, "unknown_share": 1.0},
     "performance": [perf("2026-01-31", "defaulted", 500000), perf("2026-02-28", "defaulted", 500000),
                     perf("2026-03-31", "defaulted", 500000), perf("2026-04-30", "defaulted", 500000),
                     perf("2026-05-31", "disputed", 500000)]},
    {"name": "sz-b-safe-parent-good-payer", "period": "2026-10",
     "native": {"kind": "sz", "record": {"grade": "B"}},
     "equity": {"parents": [{"id": "uscc:91440300MA5G2U7B88", "integrated_share": 0.75, "pd": 0.0003}],
                "layers_to_beneficial_owner": 2},
     "performance": [perf("2025-11-30", "on_time", 300000, "CNY", "2025-11-28"),
                     perf("2026-02-28", "on_time", 300000, "CNY", "2026-02-28"),
                     perf("2026-05-31", "late", 100000, "CNY", "2026-06-05"),
                     perf("2026-08-31", "on_time", 300000, "CNY", "2026-08-30")]},
]

if __name__ == "__main__":
    out = {"model_version": "joint-1.0.0",
           "note": "Made by specs/vectors/joint_model_reference.py from specs/joint-model.md; "
                   "default parameters.",
           "cases": []}
    for case in CASES:
        c = dict(case)
        c["expected"] = evaluate(case)
        out["cases"].append(c)
    print(json.dumps(out, indent=1))
