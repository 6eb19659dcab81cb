// The KeywardenError a call throws, for tests that check its code and details.
import { isKeywardenError, type KeywardenError } from '../../errors/error.js';

/** The KeywardenError `fn` throws (fails the test if it returns or throws something else). */
export function thrown(fn: () => unknown): KeywardenError {
  try {
    fn();
  } catch (err) {
    if (isKeywardenError(err)) return err;
    throw err;
  }
  throw new Error('expected a KeywardenError');
}
