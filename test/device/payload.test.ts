import { describe, test, expect } from "@devicescript/test"
import {
    alinkPayload,
    alinkTopic,
    bodySize,
    jsonString,
    checkBodySize,
    defaultTopic,
    MAX_BODY_BYTES,
    plainPayload,
    topicPath,
    topicProblem,
} from "../../src/payload"
import { failsWith } from "./expect-error"

describe("plainPayload", () => {
    test("with and without time", () => {
        const values = { temperature: 21.5, humidity: 40, ok: true, unit: "°C" }
        // the same text as Node's JSON.stringify of the same object
        expect(plainPayload({ time: 1795658279000, values })).toBe(
            '{"ts":1795658279000,"temperature":21.5,"humidity":40,"ok":true,"unit":"°C"}'
        )
        expect(plainPayload({ values: { t: -3.25 } })).toBe('{"t":-3.25}')
        expect(plainPayload({ time: NaN, values: { t: 1 } })).toBe('{"t":1}')
    })
    test("non-ASCII stays UTF-8 (the VM's JSON.stringify breaks it)", () => {
        const p = plainPayload({ values: { 温度: "25°C\t" } })
        expect(p).toBe('{"温度":"25°C\\t"}')
        // bytes as Node's Buffer.from(JSON.stringify(...)) gives them
        expect(Buffer.from(p).toString("hex")).toBe(
            "7b22e6b8a9e5baa6223a223235c2b0435c74227d"
        )
    })
    test("escapes names and strings", () => {
        expect(jsonString('a"b\\')).toBe('"a\\"b\\\\"')
        expect(jsonString("é\u0001")).toBe('"é\\u0001"')
        expect(plainPayload({ values: { 'a"b': 'x\n"y' } })).toBe(
            '{"a\\"b":"x\\n\\"y"}'
        )
    })
    test("refuses non-finite numbers and the reserved name", () => {
        failsWith(
            () => plainPayload({ values: { t: NaN } }),
            "'t' is not a finite"
        )
        failsWith(
            () => plainPayload({ values: { h: Infinity } }),
            "'h' is not a finite"
        )
        failsWith(() => plainPayload({ values: { ts: 1 } }), "reserved")
    })
})

describe("alinkPayload", () => {
    test("property post without time", () => {
        expect(
            alinkPayload(7, { values: { Temperature: 21.5, Humidity: 40 } })
        ).toBe(
            '{"id":"7","version":"1.0","params":{"Temperature":21.5,"Humidity":40},"method":"thing.event.property.post"}'
        )
    })
    test("property post with time", () => {
        expect(alinkPayload(0, { time: 1795658279000, values: { T: 1 } })).toBe(
            '{"id":"0","version":"1.0","params":{"T":{"value":1,"time":1795658279000}},"method":"thing.event.property.post"}'
        )
    })
    test("refuses bad identifiers and ids", () => {
        failsWith(
            () => alinkPayload(1, { values: { "a-b": 1 } }),
            "letters, digits"
        )
        failsWith(() => alinkPayload(1, { values: { "": 1 } }), "1..50")
        failsWith(() => alinkPayload(-1, { values: { a: 1 } }), "alink id")
        failsWith(() => alinkPayload(1.5, { values: { a: 1 } }), "alink id")
    })
})

describe("topics", () => {
    test("defaults", () => {
        expect(defaultTopic("a1GFjLP3xxC", "device123")).toBe(
            "/a1GFjLP3xxC/device123/user/update"
        )
        expect(alinkTopic("pk", "dn")).toBe(
            "/sys/pk/dn/thing/event/property/post"
        )
        expect(topicPath("/a1GFjLP3xxC/device123/pub")).toBe(
            "/topic/a1GFjLP3xxC/device123/pub"
        )
    })
    test("refused topics", () => {
        failsWith(() => topicPath("a/b"), "must start with '/'")
        failsWith(() => topicPath("/a/b?x=1"), "'?'")
        failsWith(() => topicPath("/a/#"), "wildcards")
        failsWith(() => topicPath("/a//b"), "empty level")
        failsWith(() => topicPath("/a/b/"), "empty level")
        failsWith(() => topicPath("/a b"), "space or control")
        failsWith(() => topicPath(""), "empty")
        expect(topicProblem("/pk/dn/user/update")).toBe(null)
    })
})

describe("body size", () => {
    test("128 KB boundary", () => {
        expect(MAX_BODY_BYTES).toBe(131072)
        checkBodySize(131072)
        checkBodySize(0)
        failsWith(() => checkBodySize(131073), "131073 bytes exceeds")
        expect(bodySize("°C")).toBe(3)
        expect(bodySize(hex`0000`)).toBe(2)
    })
})
