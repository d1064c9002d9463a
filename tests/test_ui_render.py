"""The differential view on its own (AppTest of the real renderer with a parsed diagnosis).

The live gateway's tiny model cannot write the differential JSON schema (the local engine does
not constrain decoding), so ``test_ui_app`` sees the error state; this test covers the table.
"""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def _page(lang: str) -> None:
    import streamlit as st

    from medassist.ui import render
    from medassist.ui.client import Candidate, DiagnoseResult, Explanation, FindingWeight, Reference

    cite = Reference("98000001", "Early antibiotics in pneumonia", "Fever and crackles...", 0.7, 2014)
    why = Explanation([FindingWeight("swollen calf", 1.2), FindingWeight("age 59", 0.3)],
                      [FindingWeight("fever", -0.4)], "swollen calf and age 59 raise Pulmonary embolism; "
                      "fever lowers Pulmonary embolism")
    diagnosis = DiagnoseResult(
        [Candidate("Community-acquired pneumonia", 0.62, "fever, cough, crackles [98000001]", [cite], 3),
         Candidate("Pulmonary embolism", 0.25, severity=2, must_not_miss=True, explanation=why),
         Candidate("Acute bronchitis", 0.13, "cough only", explanation=Explanation())],
        ["sepsis_signs"], [cite])
    render.differential(diagnosis, st.session_state.get("lang", lang))


def test_differential_table_bars_and_expanders():
    at = AppTest.from_function(_page, kwargs={"lang": "en"}, default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["rank"]) == [1, 2, 3] and list(table["sources"]) == [1, 0, 0]
    assert list(table["probability"]) == [0.62, 0.25, 0.13]
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["probability"]["type_config"] == {"type": "progress", "format": "percent", "min_value": 0.0,
                                                     "max_value": 1.0}
    assert [e.label for e in at.expander] == [
        "1. Community-acquired pneumonia (62%)", "2. Pulmonary embolism (25%) · :red[**must not miss**]",
        "3. Acute bronchitis (13%)"]
    assert list(table["alert"]) == ["", "⚠ must not miss", ""]  # severity 1-2 only
    assert [e.icon for e in at.expander] == ["", ":material/emergency:", ""]
    first, second, third = at.expander
    assert first.markdown[0].value == "**Rationale:** fever, cough, crackles [98000001]"
    assert "[PMID 98000001](https://pubmed.ncbi.nlm.nih.gov/98000001/)" in first.markdown[1].value
    assert second.caption[0].value.startswith("Severity 2 of 5 in the knowledge base")
    # the findings as bars (for positive, against negative), then the sentence under them
    chart, = second.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["sort"] == ["swollen calf", "age 59", "fever"]  # strongest for at the top
    assert spec["encoding"]["color"]["scale"]["domain"] == ["raises", "lowers"]
    sent = chart.proto.SerializeToString()
    assert all(label in sent for label in (b"swollen calf", b"age 59", b"fever"))
    assert second.markdown[0].value == "_swollen calf and age 59 raise Pulmonary embolism; fever lowers Pulmonary " \
                                       "embolism_"
    assert second.markdown[1].value == "**Rationale:** No rationale given."
    assert second.caption[1].value == "No supporting source found."
    assert not third.get("vega_lite_chart") and third.caption[0].value == "No single finding moves this condition."
    assert at.error[0].value.endswith("(sepsis signs). Consider urgent or emergency care before anything else.")


def test_differential_in_chinese():
    at = AppTest.from_function(_page, kwargs={"lang": "zh"}, default_timeout=60).run()
    assert at.subheader[0].value == "鉴别诊断"
    assert "未找到支持性文献。" in [c.value for c in at.expander[1].caption]
    assert at.expander[1].label.endswith(":red[**不可漏诊**]")
    assert json.loads(at.expander[1].get("vega_lite_chart")[0].proto.spec)["encoding"]["color"]["scale"][
        "domain"] == ["提高", "降低"]
    assert at.error[0].value.startswith("**危险信号：可能为急症**")


INJECTED = ("See ![x](http://evil.example/a.png) and <img src=\"http://evil.example/b.png\"> "
            "or \\![y](http://evil.example/c.png) [ref]\n\n<div><img src=http://evil.example/d.png></div>")


def _answer_page(injected: str) -> None:
    import streamlit as st

    from medassist.ui import render
    from medassist.ui.client import Reference
    from medassist.ui.session import Turn

    source = Reference("98000002", "Title ![t](http://evil.example/t.png)", "Snippet <img src=http://evil.example/s>")
    with st.chat_message("assistant"):
        render.streamed_answer(iter(["Streamed !", "[z](http://evil.example/split.png) done"]))
    with st.chat_message("assistant"):
        render.answer_body(Turn("assistant", injected, [source]), "en")


def _nodes(tokens):
    for token in tokens:
        yield token
        yield from _nodes(token.children or [])


def test_model_output_draws_no_remote_image_and_no_html():
    """An answer or source carrying Markdown images or raw HTML (a prompt injection through the
    index could plant them) reaches the browser as text: parsed as CommonMark with HTML allowed,
    nothing the page sends is an image or HTML, and no element asks for HTML rendering."""
    from markdown_it import MarkdownIt

    at = AppTest.from_function(_answer_page, kwargs={"injected": INJECTED}, default_timeout=60).run()
    assert not at.exception
    parser = MarkdownIt("commonmark")
    bodies = [(e.value, e.proto) for e in [*at.markdown, *at.caption]]
    assert len(bodies) >= 5
    for body, proto in bodies:
        kinds = {token.type for token in _nodes(parser.parse(body))}
        assert "image" not in kinds and not {k for k in kinds if k.startswith("html")}, body
        assert not proto.allow_html
    shown = " ".join(body for body, _ in bodies)
    assert "evil.example/a.png" in shown and "evil.example/split.png" in shown  # still readable as text
    assert at.chat_message[0].markdown[0].value.startswith("Streamed !")
