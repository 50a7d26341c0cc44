import { describe, test, expect } from "@devicescript/test"
import {
    findMessageId,
    jsonDepth,
    MAX_PARSE_BYTES,
    parsePlatformResponse,
    shortToken,
    tokenProblem,
} from "../../src/channel/response"
import { classify, codeName } from "../../src/channel/codes"

function failsWith(f: () => void, part: string) {
    let msg: string = null
    try {
        f()
    } catch (e) {
        msg = (e as Error).message
    }
    if (msg === null || msg.indexOf(part) < 0)
        console.log(`expected error with '${part}', got ${msg}`)
    expect(msg !== null && msg.indexOf(part) >= 0).toBe(true)
}

describe("parsePlatformResponse", () => {
    test("auth answer (spec example)", () => {
        const r = parsePlatformResponse(
            '{\n  "code": 0,\n  "message": "success",\n  "info": {\n    "token": "6944e5bfb92e4d4ea3918d1eda3942f6"\n  }\n}'
        )
        expect(r.code).toBe(0)
        expect(r.message).toBe("success")
        expect(r.token).toBe("6944e5bfb92e4d4ea3918d1eda3942f6")
        expect(r.messageId).toBe(undefined)
    })
    test("messageId digits kept exactly above 2^53", () => {
        // 892687627916247041 and ...040 are the same double
        const r = parsePlatformResponse(
            Buffer.from(
                '{"code":0,"message":"success","info":{"messageId":892687627916247041}}'
            )
        )
        expect(r.messageId).toBe("892687627916247041")
        const s = parsePlatformResponse(
            '{"code":0,"info":{"Data":"","messageId" : 892687627916247040 }}'
        )
        expect(s.messageId).toBe("892687627916247040")
    })
    test("messageId as a JSON string", () => {
        const r = parsePlatformResponse(
            '{"code":0,"info":{"messageId":"18446744073709551615"}}'
        )
        expect(r.messageId).toBe("18446744073709551615")
    })
    test("a messageId look-alike inside a string is ignored", () => {
        const r = parsePlatformResponse(
            '{"code":0,"message":"x,\\"messageId\\":892687627916247099","info":{"messageId":892687627916247041}}'
        )
        expect(r.messageId).toBe("892687627916247041")
    })
    test("error codes", () => {
        const r = parsePlatformResponse(
            '{"code":20001,"message":"token is expired"}'
        )
        expect(r.code).toBe(20001)
        expect(r.token).toBe(undefined)
    })
    test("hostile or malformed bodies give clear errors", () => {
        let deep = ""
        for (let i = 0; i < 2000; i++) deep += "["
        failsWith(() => parsePlatformResponse(deep), "nested deeper")
        failsWith(
            () => parsePlatformResponse('{"a":' + deep.slice(0, 20)),
            "nested deeper"
        )
        failsWith(() => parsePlatformResponse(""), "empty")
        failsWith(() => parsePlatformResponse("<html>busy</html>"), "not JSON")
        failsWith(() => parsePlatformResponse('{"code":0'), "not JSON")
        failsWith(() => parsePlatformResponse("[1,2]"), "not a JSON object")
        failsWith(() => parsePlatformResponse("null"), "not a JSON object")
        failsWith(
            () => parsePlatformResponse('{"message":"x"}'),
            "integer code"
        )
        failsWith(() => parsePlatformResponse('{"code":"0"}'), "integer code")
        failsWith(() => parsePlatformResponse('{"code":0.5}'), "integer code")
        failsWith(
            () => parsePlatformResponse(Buffer.alloc(MAX_PARSE_BYTES + 1)),
            "larger than"
        )
        failsWith(
            () =>
                parsePlatformResponse(
                    '{"code":0,"info":{"token":"a\\r\\nX: y"}}'
                ),
            "visible ASCII"
        )
        failsWith(
            () => parsePlatformResponse('{"code":0,"info":{"token":7}}'),
            "not a string"
        )
        failsWith(
            () => parsePlatformResponse('{"code":0,"info":{"token":""}}'),
            "token length"
        )
        failsWith(
            () => parsePlatformResponse('{"code":0,"info":{"messageId":-5}}'),
            "non-negative"
        )
        failsWith(
            () => parsePlatformResponse('{"code":0,"info":{"messageId":1.5}}'),
            "non-negative"
        )
        failsWith(
            () => parsePlatformResponse('{"code":0,"info":{"messageId":1e3}}'),
            "plain integer"
        )
        failsWith(
            () =>
                parsePlatformResponse('{"code":0,"info":{"messageId":"12a"}}'),
            "decimal digits"
        )
        failsWith(
            () =>
                parsePlatformResponse(
                    '{"code":0,"x":{"messageId":892687627916247041},"info":{"messageId":892687627916247040}}'
                ),
            "two different"
        )
    })
    test("brackets inside strings do not count as depth", () => {
        expect(jsonDepth('{"a":"[[[[[[[[[[[[[[[[\\"[[[[","b":[1]}', 8)).toBe(2)
        expect(jsonDepth('{"a":"\\\\","b":{"c":[{}]}}', 8)).toBe(4)
        const r = parsePlatformResponse(
            '{"code":0,"message":"[[[[[[[[[[[[[[[[[[[[[[[[[["}'
        )
        expect(r.code).toBe(0)
    })
})

describe("findMessageId", () => {
    test("requires a real key position", () => {
        expect(findMessageId('{"messageId":5}', 5)).toBe("5")
        expect(findMessageId('{ "a":1 , "messageId" :\n5\n}', 5)).toBe("5")
        failsWith(
            () => findMessageId('{"x":"messageId","messageId":6}', 5),
            "plain integer"
        )
    })
})

describe("tokens in logs", () => {
    test("shortToken never shows the whole token", () => {
        const t = "6944e5bfb92e4d4ea3918d1eda3942f6"
        expect(shortToken(t)).toBe("6944...42f6")
        expect(shortToken("abcdefghij")).toBe("ab...")
        expect(shortToken("abc")).toBe("...")
        expect(shortToken(undefined)).toBe("(none)")
        expect(tokenProblem(t)).toBe(null)
    })
})

describe("classify", () => {
    test("platform codes", () => {
        expect(classify(200, 0)).toBe("ok")
        expect(classify(200, 20001)).toBe("reauth")
        expect(classify(200, 20002)).toBe("reauth")
        expect(classify(200, 20003)).toBe("reauth")
        expect(classify(200, 40000)).toBe("retry")
        expect(classify(200, 10000)).toBe("retry")
        expect(classify(200, 30001)).toBe("retry")
        expect(classify(200, 20004)).toBe("retry")
        expect(classify(200, 10001)).toBe("fatal")
        expect(classify(200, 20000)).toBe("fatal")
        expect(classify(200, 99999)).toBe("fatal")
    })
    test("HTTP status", () => {
        expect(classify(500, undefined)).toBe("retry")
        expect(classify(503, 0)).toBe("retry")
        expect(classify(502, 20001)).toBe("retry")
        expect(classify(429, undefined)).toBe("retry")
        expect(classify(200, undefined)).toBe("retry")
        expect(classify(404, undefined)).toBe("fatal")
        expect(classify(301, undefined)).toBe("fatal")
        expect(classify(404, 0)).toBe("fatal")
        expect(classify(403, 20003)).toBe("reauth")
    })
    test("names", () => {
        expect(codeName(20001)).toBe("token is expired")
        expect(codeName(12345)).toBe("unknown code")
    })
})
