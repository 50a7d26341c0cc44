/**
 * The emulator's TLS material: a local CA and a server certificate for
 * 127.0.0.1 and localhost signed by it, created on first start and kept in
 * `<stateDir>/tls/` (ca.pem, ca-key.pem, server.pem, server-key.pem).
 * Keys come from Node's crypto; certificates are built with node-forge.
 * The keys are RSA on purpose: Alibaba's C SDKs (mbedtls) offer RSA key
 * exchange only (TLS_RSA_WITH_AES_256_CBC_SHA256), which an ECDSA
 * certificate cannot serve.
 */
import { generateKeyPairSync, X509Certificate, randomBytes } from "node:crypto"
import {
    chmodSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    renameSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { join } from "node:path"
import forge from "node-forge"

/** PEM texts and the path of the CA file clients should trust. */
export interface TlsMaterial {
    caFile: string
    ca: string
    cert: string
    key: string
}

const DAY = 24 * 3600 * 1000

function rsaKeys() {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
    })
    return { publicKey, privateKey }
}

function serial() {
    const b = randomBytes(16)
    b[0] &= 0x7f // positive
    return b.toString("hex")
}

/** Creates a new CA and a server certificate for 127.0.0.1 / localhost. */
export function createTlsMaterial(now = Date.now()) {
    const pki = forge.pki
    const caKeys = rsaKeys()
    const caCert = pki.createCertificate()
    caCert.publicKey = pki.publicKeyFromPem(caKeys.publicKey)
    caCert.serialNumber = serial()
    caCert.validity.notBefore = new Date(now - DAY)
    caCert.validity.notAfter = new Date(now + 3650 * DAY)
    const caName = [
        { name: "commonName", value: "IoT platform emulator local CA" },
        { name: "organizationName", value: "devs-iot-https-client" },
    ]
    caCert.setSubject(caName)
    caCert.setIssuer(caName)
    caCert.setExtensions([
        {
            name: "basicConstraints",
            cA: true,
            pathLenConstraint: 0,
            critical: true,
        },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
        { name: "subjectKeyIdentifier" },
    ])
    const caPriv = pki.privateKeyFromPem(caKeys.privateKey)
    caCert.sign(caPriv, forge.md.sha256.create())

    const srvKeys = rsaKeys()
    const cert = pki.createCertificate()
    cert.publicKey = pki.publicKeyFromPem(srvKeys.publicKey)
    cert.serialNumber = serial()
    cert.validity.notBefore = new Date(now - DAY)
    cert.validity.notAfter = new Date(now + 825 * DAY)
    cert.setSubject([{ name: "commonName", value: "127.0.0.1" }])
    cert.setIssuer(caName)
    cert.setExtensions([
        { name: "basicConstraints", cA: false },
        {
            name: "keyUsage",
            digitalSignature: true,
            keyEncipherment: true,
            critical: true,
        },
        { name: "extKeyUsage", serverAuth: true },
        {
            name: "subjectAltName",
            altNames: [
                { type: 7, ip: "127.0.0.1" },
                { type: 2, value: "localhost" },
            ],
        },
        { name: "subjectKeyIdentifier" },
        {
            name: "authorityKeyIdentifier",
            keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(),
        },
    ])
    cert.sign(caPriv, forge.md.sha256.create())
    return {
        ca: pki.certificateToPem(caCert),
        caKey: caKeys.privateKey,
        cert: pki.certificateToPem(cert),
        key: srvKeys.privateKey,
    }
}

function usable(dir: string, now: number) {
    try {
        const ca = new X509Certificate(readFileSync(join(dir, "ca.pem")))
        const srv = new X509Certificate(readFileSync(join(dir, "server.pem")))
        readFileSync(join(dir, "server-key.pem"))
        const soon = now + 7 * DAY
        return (
            srv.verify(ca.publicKey) &&
            Date.parse(srv.validTo) > soon &&
            Date.parse(ca.validTo) > soon &&
            srv.checkIP("127.0.0.1") !== undefined &&
            srv.checkHost("localhost") !== undefined
        )
    } catch {
        return false
    }
}

/**
 * Loads the TLS material from `<stateDir>/tls`, creating it first if it is
 * missing or no longer usable. Creation is atomic (a directory rename), so
 * emulators started at the same time agree on one CA.
 */
export function ensureTlsMaterial(stateDir: string): TlsMaterial {
    const dir = join(stateDir, "tls")
    const now = Date.now()
    if (!usable(dir, now)) {
        mkdirSync(stateDir, { recursive: true })
        const tmp = mkdtempSync(join(stateDir, ".tls-"))
        chmodSync(tmp, 0o755)
        const m = createTlsMaterial(now)
        writeFileSync(join(tmp, "ca.pem"), m.ca)
        writeFileSync(join(tmp, "ca-key.pem"), m.caKey, { mode: 0o600 })
        writeFileSync(join(tmp, "server.pem"), m.cert)
        writeFileSync(join(tmp, "server-key.pem"), m.key, { mode: 0o600 })
        if (existsSync(dir) && !usable(dir, now)) {
            const old = `${dir}.old-${process.pid}-${now}`
            try {
                renameSync(dir, old)
                rmSync(old, { recursive: true, force: true })
            } catch {}
        }
        try {
            renameSync(tmp, dir)
        } catch {
            // another emulator created it first: use theirs
        }
        rmSync(tmp, { recursive: true, force: true })
        if (!usable(dir, now))
            throw new Error(`could not create TLS material in ${dir}`)
    }
    return {
        caFile: join(dir, "ca.pem"),
        ca: readFileSync(join(dir, "ca.pem"), "utf8"),
        cert: readFileSync(join(dir, "server.pem"), "utf8"),
        key: readFileSync(join(dir, "server-key.pem"), "utf8"),
    }
}
