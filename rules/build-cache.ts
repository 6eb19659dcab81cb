// Build step (`npm run build`): validate the built-in YAML pack once and cache it as JSON beside the
// compiled loader, so a scan starts without parsing YAML.
import { writeBuiltinCache } from './builtin.js';

process.stdout.write(`rule pack cached in ${await writeBuiltinCache()}\n`);
