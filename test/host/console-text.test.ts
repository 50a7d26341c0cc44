// Text from devices and operators: hidden characters (controls,
// bidirectional overrides, zero-width and other format characters) shown as
// escapes, by the page and by the host alike, and refused in names an
// operator gives.
import { test } from "node:test"
import assert from "node:assert/strict"
import { runAction, ActionError } from "../../host/console/actions.ts"
import { visible } from "../../host/console/public/visible.js"
import { visibleText } from "../../host/lib/visible-text.ts"
import {
    checkOperatorName,
    operatorNameProblem,
} from "../../host/lib/operator-name.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"

test("hidden characters are shown as escapes, the same by the page and the host, for every code point", () => {
    const cases: [string, string][] = [
        ["dev-1", "dev-1"],
        ["v1\u202Egpj.exe", "v1\\u202Egpj.exe"],
        ["a\u0000b", "a\\u0000b"],
        ["\u001B[31mred", "\\u001B[31mred"],
        ["line\nnext\ttab", "line\\u000Anext\\u0009tab"],
        ["zero\u200Bwidth\u2066iso\u2069", "zero\\u200Bwidth\\u2066iso\\u2069"],
        ["\u0085\u009B\u007F", "\\u0085\\u009B\\u007F"],
        ["sep\u2028par\u2029", "sep\\u2028par\\u2029"],
        ["lone\uD800", "lone\\uD800"],
        ["tag\u{E0041}", "tag\\u{E0041}"],
        ["Grüße 温度 🌡", "Grüße 温度 🌡"],
    ]
    for (const [text, shown] of cases) {
        assert.equal(visibleText(text), shown, JSON.stringify(text))
        assert.equal(visible(text), shown, JSON.stringify(text))
    }
    for (let n = 0; n <= 0x10ffff; n++) {
        if (n >= 0xd800 && n <= 0xdfff) continue
        const c = String.fromCodePoint(n)
        assert.equal(visible(c), visibleText(c), `U+${n.toString(16)}`)
    }
})

test("operator-given names with hidden characters or spaces at the ends are refused; the console's stop reason too", async () => {
    for (const good of ["v2.0.0", "lab", "dev-7", "Grüße 2", "温度"])
        assert.equal(operatorNameProblem(good, "name"), undefined, good)
    for (const bad of [
        "v1\u202Egpj",
        "a\u0000",
        "\u001B[2J",
        "x\u200By",
        "two\nlines",
        " lab",
        "lab ",
        "",
        "x".repeat(201),
    ])
        assert.throws(
            () => checkOperatorName(bad, "version"),
            RangeError,
            JSON.stringify(bad)
        )
    assert.match(
        operatorNameProblem("v1\u202Egpj", "version")!,
        /^version: \\u202E .* not allowed in v1\\u202Egpj$/
    )
    const store = new SqliteStore(":memory:")
    try {
        await assert.rejects(
            runAction(store, "stop", { reason: "done\u202E" }),
            ActionError
        )
        await assert.rejects(
            runAction(store, "assign", { version: "v\u0000", scope: "all" }),
            ActionError
        )
    } finally {
        await store.close()
    }
})
