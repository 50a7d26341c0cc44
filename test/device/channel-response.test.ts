import * as ds from "@devicescript/core"
import { describe, test, expect } from "@devicescript/test"
import { AnswerReader, readAnswer } from "../../src/channel/answer"
import { shortToken, tokenProblem } from "../../src/channel/token"
import { classify, codeName } from "../../src/channel/codes"
import { rejects } from "./expect-error"

/** Same name as before: the whole body through the streaming reader. */
const parsePlatformResponse = readAnswer

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
            async () => await parsePlatformResponse('{"a":' + deep),
            "nested deeper than 32"
        )
        await rejects(
            async () =>
                await parsePlatformResponse('{"a":' + deep.slice(0, 40)),
            "nested deeper"
        )
        await rejects(
            async () => await parsePlatformResponse(deep),
            "not a JSON object"
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
            async () => await parsePlatformResponse(Buffer.alloc(100)),
            "not JSON"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0}x'),
            "after the object"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0,"a":tru}'),
            "bad number or literal"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0,"a":01}'),
            "bad number or literal"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0,"a":"\\x"}'),
            "bad escape"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0,"code":0}'),
            "two codes"
        )
        await rejects(
            async () => await parsePlatformResponse('{"code":0,"a":[1,]}'),
            "not JSON"
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
            "non-negative"
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
                    '{"code":0,"info":{"messageId":892687627916247041,"messageId":892687627916247040}}'
                ),
            "two different"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"token":"abcd","token":"abcd"}}'
                ),
            "two tokens"
        )
    })
    test("only info's messageId and token count", async () => {
        const r = await parsePlatformResponse(
            '{"code":0,"x":{"messageId":892687627916247041,"info":{"token":"no"}},"messageId":7,"info":{"a":{"messageId":9},"messageId":892687627916247040}}'
        )
        expect(r.messageId).toBe("892687627916247040")
        expect(r.token).toBe(undefined)
    })
    test("tokens as the platform gives them: 32 hex, JWT form, up to 512", async () => {
        const jwt =
            "eyJ0eXBlIjoiSldUIiwiYWxnIjoiaG1hY3NoYTEifQ.eyJleHBpcmUiOjE1MDI1MzE1MDc0NzcsInRva2VuIjoiODA0ZmFjYTBiZTE3NGUxNjliZjY0ODVlNWNiNDg3MTkifQ.OjMwu29F0CY2YR_6oOyiOLXz0c8"
        expect(jwt.length).toBe(161)
        const r = await parsePlatformResponse(
            '{"code":0,"message":"success","info":{"token":"' + jwt + '"}}'
        )
        expect(r.token).toBe(jwt)
        let t512 = ""
        while (t512.length < 512) t512 += "a-_.~!"[t512.length % 6]
        t512 = t512.slice(0, 512)
        const r2 = await parsePlatformResponse(
            '{"code":0,"info":{"token":"' + t512 + '"}}'
        )
        expect(r2.token).toBe(t512)
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"token":"' + t512 + 'x"}}'
                ),
            "token length 513 not in 1..512"
        )
        let huge = ""
        while (huge.length < 3000) huge += "abcdefghij"
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"token":"' + huge + '"}}'
                ),
            "token length 3000"
        )
        await rejects(
            async () =>
                await parsePlatformResponse(
                    '{"code":0,"info":{"token":"a b"}}'
                ),
            "visible ASCII"
        )
        // an escaped slash is a slash
        const r3 = await parsePlatformResponse(
            '{"code":0,"info":{"token":"ab\\/cd\\u0041"}}'
        )
        expect(r3.token).toBe("ab/cdA")
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
        const s = await parsePlatformResponse(
            '{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[[[[","b":[1,{}],"code":3}'
        )
        expect(s.code).toBe(3)
        const r = await parsePlatformResponse(
            '{"code":0,"message":"[[[[[[[[[[[[[[[[[[[[[[[[[["}'
        )
        expect(r.code).toBe(0)
    })
})

describe("AnswerReader", () => {
    test("an answer split at every byte reads the same", () => {
        const body = Buffer.from(
            '{ "code" : 0 ,"message":"s\\u00e9","info":{"Data":"x\\"y","messageId" :\n892687627916247041 } }'
        )
        const reader = new AnswerReader()
        for (let i = 0; i < body.length; i++) reader.push(body, i, 1)
        const r = reader.end()
        expect(r.code).toBe(0)
        expect(r.message).toBe("s\u00e9")
        expect(r.messageId).toBe("892687627916247041")
    })
    test("a 100 KB Data field before and after messageId is skipped, not kept", async () => {
        // hostile content: quotes, escapes and look-alike keys inside the string
        const unit = Buffer.from('{\\"code\\":1,\\"messageId\\":7}\\\\[]{}')
        // 256-byte slices, a yield after each: what the HTTP client hands over
        const fill = 256 - (256 % unit.length)
        const slice = Buffer.alloc(fill)
        for (let k = 0; k < fill; k += unit.length)
            slice.blitAt(k, unit, 0, unit.length)
        for (const dataFirst of [true, false]) {
            const reader = new AnswerReader()
            const head = Buffer.from(
                dataFirst
                    ? '{"code":0,"message":"success","info":{"Data":"'
                    : '{"code":0,"message":"success","info":{"messageId":892687627916247041,"Data":"'
            )
            reader.push(head, 0, head.length)
            // the unit's escapes are never cut: each slice ends on a unit boundary
            for (let size = 0; size < 100 * 1024; size += fill) {
                reader.push(slice, 0, fill)
                await ds.sleep(0)
            }
            const tail = Buffer.from(
                dataFirst ? '","messageId":892687627916247041}}' : '"}}'
            )
            reader.push(tail, 0, tail.length)
            const r = reader.end()
            expect(r.code).toBe(0)
            expect(r.messageId).toBe("892687627916247041")
        }
    })
    test("an error is reported at the end, not thrown while reading", () => {
        const reader = new AnswerReader()
        const b = Buffer.from("<html>busy</html>")
        reader.push(b, 0, b.length)
        reader.push(b, 0, b.length)
        let msg = ""
        try {
            reader.end()
        } catch (e) {
            msg = (e as Error).message
        }
        expect(msg).toBe("platform: response is not JSON")
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
        const jwt =
            "eyJ0eXBlIjoiSldUIiwiYWxnIjoiaG1hY3NoYTEifQ.eyJleHBpcmUiOjE1MDI1MzE1MDc0NzcsInRva2VuIjoiODA0ZmFjYTBiZTE3NGUxNjliZjY0ODVlNWNiNDg3MTkifQ.OjMwu29F0CY2YR_6oOyiOLXz0c8"
        expect(shortToken(jwt)).toBe("eyJ0...z0c8")
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
