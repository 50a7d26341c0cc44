/**
 * The settings schema on Node: the shared table of good and bad values gets
 * the same verdicts as in the DeviceScript VM (test/device/settings-schema),
 * and provisioning refuses a value exactly when the firmware would.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import {
    checkSetting,
    settingSpec,
    SETTINGS,
} from "../../src/settings-schema.ts"
import { settingProblems } from "../../host/provision/fleet-file.ts"
import { SETTING_CASES, verdictText } from "../shared/settings-cases.ts"

test("every case of the shared table gets the verdict the VM gives", () => {
    for (const [key, value, verdict] of SETTING_CASES)
        assert.equal(
            verdictText(checkSetting(settingSpec(key), value)),
            verdict,
            `${key} ${JSON.stringify(value)}`
        )
})

test("provisioning takes a value exactly when the firmware does", () => {
    let compared = 0
    for (const [key, value, verdict] of SETTING_CASES) {
        // a fleet file holds non-empty text; absent values are left out
        if (typeof value !== "string" || value === "") continue
        const problems = settingProblems(key, value)
        if (verdict.startsWith("=")) assert.deepEqual(problems, [], key)
        else if (value.includes("#"))
            // refused first for the deploy path, which drops such lines
            assert.match(problems.join(), /contains '#'/, key)
        else assert.deepEqual(problems, [verdict.slice(1)], key)
        compared++
    }
    assert.ok(compared >= 35)
})

test("keys the firmware writes cannot be provisioned; every key fits", () => {
    for (const s of SETTINGS) assert.ok(s.key.length <= 13, s.key)
    assert.deepEqual(settingProblems("AUTH_TOKEN_2", "x"), [
        "AUTH_TOKEN_2 is written by the firmware, not provisioned",
    ])
    assert.deepEqual(settingProblems("AUTH_TOKEN_7", "x"), [
        "unknown setting 'AUTH_TOKEN_7'",
    ])
})
