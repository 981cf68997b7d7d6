'use strict';
// Symbol.asyncDispose / Symbol.dispose, or the names Node gives them where
// the language does not have them yet (`await using vm = ...`).
module.exports = {
  asyncDispose: Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose'),
  dispose: Symbol.dispose ?? Symbol.for('nodejs.dispose'),
};
