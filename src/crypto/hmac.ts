import { hmac as nativeHmac } from "@devicescript/crypto"
import { BLOCK_SIZE, Binary, Hasher, hashBytecode, toBuffer } from "./hasher"

/** Algorithms `hmac` supports: MD5 and SHA-1 in bytecode, SHA-256 native. */
export type HmacAlgorithm = "md5" | "sha1" | "sha256"

/**
 * HMAC (RFC 2104). Keys longer than the 64-byte block are hashed first.
 * HMAC-SHA256 uses the runtime's native implementation.
 */
export async function hmac(
    algo: HmacAlgorithm,
    key: Binary,
    data: Binary
): Promise<Buffer> {
    if (algo === "sha256") return nativeHmac(key, "sha256", data)
    if (algo !== "md5" && algo !== "sha1")
        throw new TypeError(`unknown HMAC algorithm: ${algo}`)
    let k = toBuffer(key)
    if (k.length > BLOCK_SIZE) k = await hashBytecode(algo, k)
    const pad = Buffer.alloc(BLOCK_SIZE)
    pad.blitAt(0, k, 0, k.length)
    for (let i = 0; i < BLOCK_SIZE; ++i) pad[i] ^= 0x36
    const inner = new Hasher(algo)
    await inner.update(pad)
    await inner.update(data)
    const innerDigest = await inner.digest()
    // 0x36 ^ 0x5c turns the inner pad into the outer pad
    for (let i = 0; i < BLOCK_SIZE; ++i) pad[i] ^= 0x6a
    const outer = new Hasher(algo)
    await outer.update(pad)
    await outer.update(innerDigest)
    return await outer.digest()
}
