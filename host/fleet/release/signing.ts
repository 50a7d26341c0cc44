/**
 * Signed releases: an Ed25519 key pair (Node's crypto) whose private half
 * stays with the person who publishes, outside the service's state; the
 * service holds only the public half and checks the signature when a
 * version is published and again before every deploy. So an artifact and
 * its hash swapped in `state/` are refused: nobody who can only write there
 * can sign.
 *
 * What is signed: the text `devs-fleet release <hash>`, where `<hash>` is
 * the program hash the runtime reports (SHA-256 hex of the image padded to
 * 32 bytes, see artifacts.ts). Signature files (`FILE.devs.sig`) hold the
 * signature in base64 on one line.
 */
import {
    createHash,
    createPrivateKey,
    createPublicKey,
    generateKeyPairSync,
    sign,
    verify,
    type KeyObject,
} from "node:crypto"
import {
    chmodSync,
    existsSync,
    mkdirSync,
    readFileSync,
    writeFileSync,
} from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { imageHash } from "./artifacts.ts"
import { readPrivateKeyFile } from "../../lib/private-key-file.ts"

/** File names `keygen` writes. */
export const PRIVATE_KEY_FILE = "release-key.pem"
export const PUBLIC_KEY_FILE = "release-key.pub"

/**
 * Where `keygen` puts the key pair by default: `$XDG_CONFIG_HOME/devs-fleet`
 * or `~/.config/devs-fleet` (never inside the service's state directory).
 */
export function defaultKeyDir(): string {
    const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config")
    return join(base, "devs-fleet")
}

/** Why a release signature or key was refused. */
export class SignatureError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "SignatureError"
    }
}

/** The message a release signature covers. */
function signedText(hash: string): Buffer {
    return Buffer.from(`devs-fleet release ${hash}`, "utf8")
}

/** A fresh Ed25519 key pair as PEM texts (PKCS#8 private, SPKI public). */
export function generateReleaseKeys(): {
    privatePem: string
    publicPem: string
} {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519")
    return {
        privatePem: privateKey
            .export({ type: "pkcs8", format: "pem" })
            .toString(),
        publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    }
}

/**
 * Writes a new key pair into `dir` (created 0700): the private key 0600,
 * the public key 0644. Refuses to overwrite an existing private key.
 * @returns the two paths
 */
export function writeReleaseKeys(dir: string): {
    privateFile: string
    publicFile: string
} {
    const privateFile = join(dir, PRIVATE_KEY_FILE)
    const publicFile = join(dir, PUBLIC_KEY_FILE)
    if (existsSync(privateFile))
        throw new SignatureError(
            `${privateFile} exists: not overwriting a release key`
        )
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const k = generateReleaseKeys()
    writeFileSync(privateFile, k.privatePem, { mode: 0o600, flag: "wx" })
    chmodSync(privateFile, 0o600)
    writeFileSync(publicFile, k.publicPem, { mode: 0o644 })
    chmodSync(publicFile, 0o644)
    return { privateFile, publicFile }
}

/** Loads an Ed25519 private key (PEM file that only its owner may read). */
export function loadPrivateKey(file: string): KeyObject {
    const key = createPrivateKey(readPrivateKeyFile(file))
    if (key.asymmetricKeyType !== "ed25519")
        throw new SignatureError(`${file}: not an Ed25519 private key`)
    return key
}

/** Loads an Ed25519 public key (PEM file; a private key file gives its public half). */
export function loadPublicKey(file: string): KeyObject {
    const key = createPublicKey(readFileSync(file))
    if (key.asymmetricKeyType !== "ed25519")
        throw new SignatureError(`${file}: not an Ed25519 public key`)
    return key
}

/** Signature (base64) of an image: covers its program hash. */
export function signRelease(image: Buffer, privateKey: KeyObject): string {
    return sign(null, signedText(imageHash(image)), privateKey).toString(
        "base64"
    )
}

/**
 * Checks that `signature` (base64) was made by `publicKey` for `image`.
 * @throws SignatureError
 */
export function verifyRelease(
    image: Buffer,
    signature: string,
    publicKey: KeyObject
): void {
    const hash = imageHash(image)
    if (!signature) throw new SignatureError("not signed")
    const sig = Buffer.from(signature.trim(), "base64")
    if (sig.length !== 64 || !verify(null, signedText(hash), publicKey, sig))
        throw new SignatureError(
            `the signature does not match image ${hash.slice(0, 12)} and the trusted release key`
        )
}

/** Short fingerprint of a public key for messages (SHA-256 of its DER, 16 hex). */
export function keyFingerprint(publicKey: KeyObject): string {
    const der = publicKey.export({ type: "spki", format: "der" })
    return createHash("sha256").update(der).digest("hex").slice(0, 16)
}
