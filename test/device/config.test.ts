import { describe, test, expect } from "@devicescript/test"
import { readSetting, writeSetting } from "@devicescript/settings"
import {
    describeConfig,
    KEYS,
    MAX_SETTING_KEY,
    problemsLine,
    readConfig,
    resolveConfig,
    settingProblem,
    writeSettingChecked,
} from "../../src/config"

function base(): Record<string, any> {
    return {
        PRODUCT_KEY: "a1GFjLP3xxC",
        DEVICE_NAME: "device123",
        DEVICE_SECRET: "s3cr3t-VALUE",
    }
}

describe("resolveConfig", () => {
    test("every key fits the settings key limit", () => {
        for (const k of Object.values(KEYS))
            expect(k.length <= MAX_SETTING_KEY).toBe(true)
    })
    test("defaults", () => {
        const r = resolveConfig(base())
        expect(r.problems.length).toBe(0)
        const c = r.config
        expect(c.clientId).toBe("a1GFjLP3xxC.device123")
        expect(c.signMethod).toBe("hmacsha1")
        expect(c.host).toBe("iot-as-http.cn-shanghai.aliyuncs.com")
        expect(c.port).toBe(443)
        expect(c.topic).toBe("/a1GFjLP3xxC/device123/user/update")
        expect(c.format).toBe("json")
        expect(c.periodMs).toBe(60000)
        expect(c.bufferSize).toBe(32)
        expect(c.batchMax).toBe(32)
    })
    test("alink format defaults its topic; explicit values win", () => {
        const raw = base()
        raw["FORMAT"] = "alink"
        expect(resolveConfig(raw).config.topic).toBe(
            "/sys/a1GFjLP3xxC/device123/thing/event/property/post"
        )
        raw["TOPIC"] = "/a1GFjLP3xxC/device123/pub"
        raw["CLIENT_ID"] = "AA:BB:CC"
        raw["SIGN_METHOD"] = "HMACMD5"
        raw["HOST"] = "127.0.0.1"
        raw["PORT"] = "8443"
        raw["PERIOD_MS"] = 5000
        raw["BUFFER_SIZE"] = 10
        raw["BATCH_MAX"] = "1"
        const c = resolveConfig(raw).config
        expect(c.topic).toBe("/a1GFjLP3xxC/device123/pub")
        expect(c.clientId).toBe("AA:BB:CC")
        expect(c.signMethod).toBe("hmacmd5")
        expect(c.host).toBe("127.0.0.1")
        expect(c.port).toBe(8443)
        expect(c.periodMs).toBe(5000)
        expect(c.bufferSize).toBe(10)
        expect(c.batchMax).toBe(1)
    })
    test("every problem is named, in one line, without the secret", () => {
        const r = resolveConfig({
            DEVICE_NAME: 12345,
            DEVICE_SECRET: "bad secret",
            SIGN_METHOD: "sha512",
            PORT: "443x",
            TOPIC: "/a?b",
            PERIOD_MS: 10,
            FORMAT: "xml",
            BUFFER_SIZE: 0,
            HOST: "a b",
        })
        expect(r.config).toBe(undefined)
        const line = problemsLine(r.problems)
        const expected = [
            "PRODUCT_KEY is missing",
            "DEVICE_NAME is a number; write it in quotes",
            "DEVICE_SECRET contains a character",
            "SIGN_METHOD is not hmacsha1, hmacmd5 or hmacsha256",
            "PORT is not a whole number in 1..65535",
            "TOPIC: topic must not contain '?'",
            "PERIOD_MS is not a whole number in 1000..86400000",
            "FORMAT is not json or alink",
            "BUFFER_SIZE is not a whole number in 1..256",
            "HOST is not a host name or IPv4 address",
        ]
        for (const e of expected) {
            if (line.indexOf(e) < 0) console.log(`missing '${e}' in ${line}`)
            expect(line.indexOf(e) >= 0).toBe(true)
        }
        expect(r.problems.length).toBe(expected.length)
        expect(line.indexOf("bad secret")).toBe(-1)
        // no value is echoed: a value in the wrong setting may be a secret
        for (const v of ["sha512", "443x", "xml", "/a?b", "a b"])
            expect(line.indexOf(v)).toBe(-1)
        expect(line.indexOf("\n")).toBe(-1)
        expect(line.startsWith("config: 10 problems: ")).toBe(true)
    })
    test("describeConfig leaves out the secret", () => {
        const line = describeConfig(resolveConfig(base()).config)
        expect(line.indexOf("s3cr3t")).toBe(-1)
        expect(line.indexOf("a1GFjLP3xxC/device123")).toBe(8)
    })
})

describe("settings", () => {
    test("size guard at the 232-byte boundary", () => {
        // key 5 + 1 + JSON: a string of n chars is n + 2 bytes of JSON
        let s = ""
        for (let i = 0; i < 224; i++) s += "x"
        expect(settingProblem("TOKEN", s)).toBe(null) // 5 + 1 + 226 = 232
        expect(settingProblem("TOKEN", s + "x")).toBe(
            "setting TOKEN: 233 bytes (key + 1 + JSON) exceeds 232"
        )
        expect(settingProblem("ABCDEFGHIJKLMN", 1)).toBe(
            "setting key 'ABCDEFGHIJKLMN' is longer than 13 characters"
        )
        expect(settingProblem("", 1)).toBe("setting key is empty")
    })
    test("checked write stores, refuses oversize without writing", async () => {
        await writeSettingChecked("TOKEN", "6944e5bfb92e4d4ea3918d1eda3942f6")
        expect(await readSetting("TOKEN")).toBe(
            "6944e5bfb92e4d4ea3918d1eda3942f6"
        )
        let big = ""
        for (let i = 0; i < 300; i++) big += "y"
        let err: Error = null
        try {
            await writeSettingChecked("TOKEN", big)
        } catch (e) {
            err = e as Error
        }
        expect(err !== null).toBe(true)
        expect(await readSetting("TOKEN")).toBe(
            "6944e5bfb92e4d4ea3918d1eda3942f6"
        )
    })
    test("readConfig from device settings", async () => {
        await writeSetting("PRODUCT_KEY", "pk1")
        await writeSetting("DEVICE_NAME", "dn1")
        await writeSetting("DEVICE_SECRET", "sec")
        await writeSetting("PORT", 8443)
        const r = await readConfig()
        expect(r.problems.length).toBe(0)
        expect(r.config.clientId).toBe("pk1.dn1")
        expect(r.config.port).toBe(8443)
        expect(r.config.topic).toBe("/pk1/dn1/user/update")
    })
})
