import { describe, test, expect } from "@devicescript/test"
import { Hasher, hmac, md5, sha1, sha256, toHex } from "../../src/crypto"

function repeat(byte: number, n: number) {
    const b = Buffer.alloc(n)
    b.fillAt(0, n, byte)
    return b
}

function range(from: number, to: number) {
    const b = Buffer.alloc(to - from + 1)
    for (let i = from; i <= to; ++i) b[i - from] = i
    return b
}

function expectHex(digest: Buffer, hexDigest: string) {
    expect(toHex(digest)).toBe(hexDigest)
}

describe("md5: the RFC 1321 test suite", () => {
    test("empty", async () =>
        expectHex(await md5(""), "d41d8cd98f00b204e9800998ecf8427e"))
    test("a", async () =>
        expectHex(await md5("a"), "0cc175b9c0f1b6a831c399e269772661"))
    test("abc", async () =>
        expectHex(await md5("abc"), "900150983cd24fb0d6963f7d28e17f72"))
    test("message digest", async () =>
        expectHex(
            await md5("message digest"),
            "f96b697d7cb7938d525a2f31aaf161d0"
        ))
    test("a..z", async () =>
        expectHex(
            await md5("abcdefghijklmnopqrstuvwxyz"),
            "c3fcd3d76192e4007dfb496cca67e13b"
        ))
    test("A..Za..z0..9", async () =>
        expectHex(
            await md5(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            ),
            "d174ab98d277d9f5a5611c2c9f419d9f"
        ))
    test("8 x 1234567890", async () =>
        expectHex(
            await md5(
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        ))
})

describe("sha1: FIPS 180 examples", () => {
    test("empty", async () =>
        expectHex(await sha1(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709"))
    test("abc", async () =>
        expectHex(
            await sha1("abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        ))
    test("448-bit message", async () =>
        expectHex(
            await sha1(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            ),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        ))
    test("896-bit message", async () =>
        expectHex(
            await sha1(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
            ),
            "a49b2446a02c645bf419f995b67091253a04a259"
        ))
    test("one million 'a', hashed in 1000-byte chunks", async () => {
        const chunk = repeat(0x61, 1000)
        const h = new Hasher("sha1")
        for (let i = 0; i < 1000; ++i) await h.update(chunk)
        expect(toHex(await h.digest())).toBe(
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        )
    })
})

describe("hmac-md5: RFC 2202", () => {
    test("1", async () =>
        expectHex(
            await hmac("md5", repeat(0x0b, 16), "Hi There"),
            "9294727a3638bb1c13f48ef8158bfc9d"
        ))
    test("2", async () =>
        expectHex(
            await hmac("md5", "Jefe", "what do ya want for nothing?"),
            "750c783e6ab0b503eaa86e310a5db738"
        ))
    test("3", async () =>
        expectHex(
            await hmac("md5", repeat(0xaa, 16), repeat(0xdd, 50)),
            "56be34521d144c88dbb8c733f0e8b3f6"
        ))
    test("4", async () =>
        expectHex(
            await hmac("md5", range(1, 25), repeat(0xcd, 50)),
            "697eaf0aca3a3aea3a75164746ffaa79"
        ))
    test("5", async () =>
        expectHex(
            await hmac("md5", repeat(0x0c, 16), "Test With Truncation"),
            "56461ef2342edc00f9bab995690efd4c"
        ))
    test("6: key longer than a block", async () =>
        expectHex(
            await hmac(
                "md5",
                repeat(0xaa, 80),
                "Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        ))
    test("7: key and data longer than a block", async () =>
        expectHex(
            await hmac(
                "md5",
                repeat(0xaa, 80),
                "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
            ),
            "6f630fad67cda0ee1fb1f562db3aa53e"
        ))
})

describe("hmac-sha1: RFC 2202", () => {
    test("1", async () =>
        expectHex(
            await hmac("sha1", repeat(0x0b, 20), "Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        ))
    test("2", async () =>
        expectHex(
            await hmac("sha1", "Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        ))
    test("3", async () =>
        expectHex(
            await hmac("sha1", repeat(0xaa, 20), repeat(0xdd, 50)),
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3"
        ))
    test("4", async () =>
        expectHex(
            await hmac("sha1", range(1, 25), repeat(0xcd, 50)),
            "4c9007f4026250c6bc8414f9bf50c86c2d7235da"
        ))
    test("5", async () =>
        expectHex(
            await hmac("sha1", repeat(0x0c, 20), "Test With Truncation"),
            "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"
        ))
    test("6: key longer than a block", async () =>
        expectHex(
            await hmac(
                "sha1",
                repeat(0xaa, 80),
                "Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        ))
    test("7: key and data longer than a block", async () =>
        expectHex(
            await hmac(
                "sha1",
                repeat(0xaa, 80),
                "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
            ),
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"
        ))
})

describe("hmac-sha256: native, RFC 4231", () => {
    test("case 2", async () =>
        expectHex(
            await hmac("sha256", "Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ))
    test("sha256 of abc", async () =>
        expectHex(
            await sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        ))
})

describe("the spec's signing example", () => {
    const content = "clientId12345deviceNamedeviceproductKeypktimestamp789"
    test("hmacsha1", async () =>
        expectHex(
            await hmac("sha1", "secret", content),
            "fafd82a3d602b37fb0fa8b7892f24a477f851a14"
        ))
    test("hmacmd5", async () =>
        expectHex(
            await hmac("md5", "secret", content),
            "14b198324fe55e1d3c88f2e705e201ee"
        ))
})

describe("streaming", () => {
    // byte i of the 128 KB message is (31 * i + 7) & 0xff; digests from Node's crypto
    async function hashPattern(algo: "md5" | "sha1", chunkSize: number) {
        const h = new Hasher(algo)
        const chunk = Buffer.alloc(chunkSize)
        for (let pos = 0; pos < 131072; pos += chunkSize) {
            const n = Math.min(chunkSize, 131072 - pos)
            for (let i = 0; i < n; ++i) chunk[i] = (31 * (pos + i) + 7) & 0xff
            await h.update(n === chunkSize ? chunk : chunk.slice(0, n))
        }
        return toHex(await h.digest())
    }
    test("128 KB through md5 in 1 KB chunks", async () => {
        expect(await hashPattern("md5", 1024)).toBe(
            "c333c7a1bf9a19d9ace0f6ee9e5ff86d"
        )
    })
    test("128 KB through sha1 in 1000-byte chunks (not block aligned)", async () => {
        expect(await hashPattern("sha1", 1000)).toBe(
            "22d0c8ed64d77eaec61d83ae5b8851b07bfb7792"
        )
    })
    test("byte-at-a-time equals one shot", async () => {
        const msg =
            "The quick brown fox jumps over the lazy dog, twice over: 0123456789abcdef"
        for (const algo of ["md5", "sha1"]) {
            const h = new Hasher(algo as "md5" | "sha1")
            for (let i = 0; i < msg.length; ++i)
                await h.update(msg.slice(i, i + 1))
            const whole = algo === "md5" ? await md5(msg) : await sha1(msg)
            expect(toHex(await h.digest())).toBe(toHex(whole))
        }
    })
    test("a finished hasher refuses more data", async () => {
        const h = new Hasher("md5")
        await h.digest()
        let message = ""
        try {
            await h.update("x")
        } catch (e: any) {
            message = e.message
        }
        expect(message).toBe("hash already finished")
    })
    test("an unknown algorithm is refused", async () => {
        let message = ""
        try {
            await hmac("sha512" as any, "k", "d")
        } catch (e: any) {
            message = e.message
        }
        expect(message).toBe("unknown HMAC algorithm: sha512")
    })
})
