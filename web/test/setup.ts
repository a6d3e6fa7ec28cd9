// Node 18 (Debian 12's) has Web Crypto only as node:crypto's `webcrypto`,
// not as the global `crypto` that browsers and Node 19+ have.
import { webcrypto } from 'node:crypto';

if (!globalThis.crypto) Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true });
