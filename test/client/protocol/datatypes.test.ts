import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  byteSizeOf,
  configEnumOf,
  DATATYPES,
  datatypeFromConfigEnum,
  datatypeFromConfigName,
  elementCount,
  isDatatype,
} from '../../../src/protocol/datatypes.ts';
import { DataType } from '../../../src/protocol/gen/model_config_pb.ts';

describe('datatypes', () => {
  it('agrees with the generated inference.DataType enum for every datatype', () => {
    for (const dt of DATATYPES) {
      const enumName = dt === 'BYTES' ? 'TYPE_STRING' : `TYPE_${dt}`;
      const value = (DataType as unknown as Record<string, number>)[enumName];
      assert.equal(configEnumOf(dt), value, dt);
      assert.equal(datatypeFromConfigEnum(value), dt);
      assert.equal(datatypeFromConfigName(enumName), dt);
    }
  });
  it('knows element widths', () => {
    assert.equal(byteSizeOf('BOOL'), 1);
    assert.equal(byteSizeOf('FP16'), 2);
    assert.equal(byteSizeOf('INT64'), 8);
    assert.equal(byteSizeOf('BYTES'), 0);
  });
  it('rejects unknown datatype strings case-sensitively', () => {
    assert.equal(isDatatype('fp32'), false);
    assert.equal(isDatatype('FP32'), true);
  });
  it('counts elements and refuses negative dims', () => {
    assert.equal(elementCount([]), 1);
    assert.equal(elementCount([2, 3, 4]), 24);
    assert.equal(elementCount([0, 5]), 0);
    assert.throws(() => elementCount([-1, 2]), RangeError);
  });
});
