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
import { failsWith, rejects } from "./expect-error"

describe("parsePlatformResponse", () => {
    test("auth answer (spec example)", async () => {
        const r = await parsePlatformResponse(
            '{\n  "code": 0,\n  "message": "success",\n  "info": {\n    "token": "6944e5bfb92e4d4ea3918d1eda3942f6"\n  }\n}'
        )
        expect(r.code).toBe(0)
        expect(r.message).toBe("success")
        expect(r.token).toBe("6944e5bfb92e4d4ea3918d1eda3942f6")
        expect(r.messageId).toBe(undefined)
    })
    test("messageId digits kept exactly above 2^53", async () => {
        // 892687627916247041 and ...040 are the same double
        const r = await parsePlatformResponse(
            Buffer.from(
                '{"code":0,"message":"success","info":{"messageId":892687627916247041}}'
            )
        )
        expect(r.messageId).toBe("892687627916247041")
        const s = await parsePlatformResponse(
            '{"code":0,"info":{"Data":"","messageId" : 892687627916247040 }}'
        )
        expect(s.messageId).toBe("892687627916247040")
    })
    test("messageId as a JSON string", async () => {
        const r = await parsePlatformResponse(
            '{"code":0,"info":{"messageId":"18446744073709551615"}}'
        )
        expect(r.messageId).toBe("18446744073709551615")
    })
    test("a messageId look-alike inside a string is ignored", async () => {
        const r = await parsePlatformResponse(
            '{"code":0,"message":"x,\\"messageId\\":892687627916247099","info":{"messageId":892687627916247041}}'
        )
        expect(r.messageId).toBe("892687627916247041")
    })
    test("error codes", async () => {
        const r = await parsePlatformResponse(
            '{"code":20001,"message":"token is expired"}'
        )
        expect(r.code).toBe(20001)
        expect(r.token).toBe(undefined)
    })
    test("hostile or malformed bodies give clear errors", async () => {
        let deep = ""
        for (let i = 0; i < 2000; i++) deep += "["
        await rejects(
            async () => await parsePlatformResponse(deep),
            "nested deeper"
        )
        await rejects(
            async () =>
                await parsePlatformResponse('{"a":' + deep.slice(0, 20)),
            "nested deeper"
        )
        await rejects(async () => await parsePlatformResponse(""), "empty")
        await rejects(
            async () => await parsePlatformResponse("<html>busy</html>"),
            "not JSON"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0'),
            "not JSON"
        )
        await rejects(
            async () => await parsePlatformResponse("[1,2]"),
            "not a JSON object"
        )
        await rejects(
            async () => await parsePlatformResponse("null"),
            "not a JSON object"
        )
        await rejects(
            async () => await parsePlatformResponse('{"message":"x"}'),
            "integer code"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":"0"}'),
            "integer code"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0.5}'),
            "integer code"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(Buffer.alloc(MAX_PARSE_BYTES + 1)),
            "larger than"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"token":"a\\r\\nX: y"}}'
                ),
            "visible ASCII"
        )
        await rejects(
            async () =>
                await parsePlatformResponse('{"code":0,"info":{"token":7}}'),
            "not a string"
        )
        await rejects(
            async () =>
                await parsePlatformResponse('{"code":0,"info":{"token":""}}'),
            "token length"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"messageId":-5}}'
                ),
            "non-negative"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"messageId":1.5}}'
                ),
            "non-negative"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"messageId":1e3}}'
                ),
            "plain integer"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"messageId":"12a"}}'
                ),
            "decimal digits"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"x":{"messageId":892687627916247041},"info":{"messageId":892687627916247040}}'
                ),
            "two different"
        )
    })
    test("a 4 KB body scans without tripping InfiniteLoop", async () => {
        let s = '{"code":0,"a":[1'
        while (s.length < 4060) s += ",1"
        s += '],"info":{"messageId":5}}'
        const r = await parsePlatformResponse(s)
        expect(r.messageId).toBe("5")
        let q = '{"code":0,"m":"'
        while (q.length < 4060) q += '\\"'
        const r2 = await parsePlatformResponse(q + '"}')
        expect(r2.code).toBe(0)
        let w = '{"code":7,"m":"'
        while (w.length < 4060) w += "\\\\"
        expect((await parsePlatformResponse(w + '"}')).code).toBe(7)
        let m = '{"code":0,"info":{"messageId":1}'
        while (m.length < 4040) m += ',"messageId":1'
        expect((await parsePlatformResponse(m + "}")).messageId).toBe("1")
    })
    test("brackets inside strings do not count as depth", async () => {
        expect(
            await jsonDepth('{"a":"[[[[[[[[[[[[[[[[\\"[[[[","b":[1]}', 8)
        ).toBe(2)
        expect(await jsonDepth('{"a":"\\\\","b":{"c":[{}]}}', 8)).toBe(4)
        const r = await parsePlatformResponse(
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
