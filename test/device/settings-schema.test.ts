import { describe, test, expect } from "@devicescript/test"
import { checkSetting, settingSpec, SETTINGS } from "../../src/settings-schema"
import { SETTING_CASES, verdictText } from "../shared/settings-cases"

describe("settings schema in the VM", () => {
    test("every case of the shared table gets its verdict", () => {
        for (const c of SETTING_CASES) {
            const got = verdictText(checkSetting(settingSpec(c[0]), c[1]))
            if (got !== c[2])
                console.log(`${c[0]}: expected ${c[2]}, got ${got}`)
            expect(got).toBe(c[2])
        }
    })
    test("every key fits the runtime's key limit", () => {
        for (const s of SETTINGS) expect(s.key.length <= 13).toBe(true)
    })
})
