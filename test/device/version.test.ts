import { describe, test, expect } from "@devicescript/test"
import { firmwareVersion, informBody, informTopic } from "../../src/version"

describe("version report", () => {
    test("the build records a version from package.json", () => {
        const v = firmwareVersion()
        expect(v.indexOf("v0.")).toBe(0)
        expect(v.length > 3).toBe(true)
    })
    test("topic", () => {
        expect(informTopic("a1GFjLP3xxC", "device123")).toBe(
            "/ota/device/inform/a1GFjLP3xxC/device123"
        )
    })
    test("body", () => {
        expect(informBody(1, "v0.1.1-abc1234-2026.11.26.01.59")).toBe(
            '{"id":"1","params":{"version":"v0.1.1-abc1234-2026.11.26.01.59"}}'
        )
        expect(informBody(42, "v1.2.3")).toBe(
            '{"id":"42","params":{"version":"v1.2.3"}}'
        )
    })
    test("a version with quotes or non-ASCII stays valid JSON", () => {
        const body = informBody(7, 'v1 "x" °')
        expect(body).toBe('{"id":"7","params":{"version":"v1 \\"x\\" °"}}')
    })
})
