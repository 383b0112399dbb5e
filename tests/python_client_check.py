#!/usr/bin/python3
"""Independent client check for a running gridline server.

Usage:
    /usr/bin/python3 tests/python_client_check.py 127.0.0.1:50051
    /usr/bin/python3 tests/python_client_check.py --self-test

It talks to the server with nothing but Debian's python3-grpcio (``import grpc``): no generated
stubs, no grpc_tools, no grpc_health / grpc_reflection packages and no .proto files. Requests are
encoded and responses decoded by hand with the tiny protobuf wire codec below, so the check is
independent of the C++ code and of the project's own protos.

Steps:
  1. grpc.health.v1.Health/Check with an empty HealthCheckRequest (service ""), retried for up to
     20 s while the server starts (UNAVAILABLE, or NOT_SERVING); the status must be SERVING.
  2. Server reflection v1alpha, ServerReflectionInfo (a bidi stream), one request with
     ``list_services`` set; falls back to grpc.reflection.v1 only if v1alpha is UNIMPLEMENTED.
  3. The listed services must include the four gridline.v1 services below.
It prints the services and "python client check: OK", or exits 1 with a clear message.

Run it with /usr/bin/python3 (Debian's python, where the python3-grpcio package is installed).
A pyenv or virtualenv python on PATH (``python3``) may lack the grpc module entirely.
``--self-test`` checks the wire codec on hand-made bytes and needs no server and no grpc.
"""

import sys
import time

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
REFLECTION_METHODS = (
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
)
REQUIRED_SERVICES = (
    "gridline.v1.ReportService",
    "gridline.v1.DispatchService",
    "gridline.v1.DepartmentService",
    "gridline.v1.AdminService",
)
STARTUP_WAIT_SECONDS = 20.0
CALL_TIMEOUT_SECONDS = 5.0

# grpc.health.v1.HealthCheckResponse.ServingStatus
SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
SERVING = 1

WIRE_VARINT, WIRE_FIXED64, WIRE_LEN, WIRE_FIXED32 = 0, 1, 2, 5


class CheckFailed(Exception):
    pass


class WireError(ValueError):
    pass


# --------------------------------------------------------------------------------------------
# A tiny protobuf wire codec: enough for the health and reflection messages.
# --------------------------------------------------------------------------------------------

def encode_varint(value):
    if value < 0:
        value += 1 << 64  # int64/int32 negatives are 10-byte varints
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_tag(field, wire_type):
    return encode_varint((field << 3) | wire_type)


def encode_string_field(field, value):
    """A length-delimited field (string, bytes or sub-message); written even if empty, which is
    what selects a oneof member such as ServerReflectionRequest.list_services."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return encode_tag(field, WIRE_LEN) + encode_varint(len(data)) + data


def encode_varint_field(field, value):
    return encode_tag(field, WIRE_VARINT) + encode_varint(value)


def decode_varint(data, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint too long")


def decode_fields(data):
    """Returns [(field_number, wire_type, value)], value an int for varint/fixed fields and bytes
    for length-delimited ones. Groups (wire types 3 and 4) are not supported."""
    data = bytes(data)
    fields = []
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        field, wire_type = key >> 3, key & 7
        if field == 0:
            raise WireError("field number 0")
        if wire_type == WIRE_VARINT:
            value, pos = decode_varint(data, pos)
        elif wire_type == WIRE_LEN:
            length, pos = decode_varint(data, pos)
            if pos + length > len(data):
                raise WireError("truncated length-delimited field %d" % field)
            value = data[pos:pos + length]
            pos += length
        elif wire_type == WIRE_FIXED64:
            if pos + 8 > len(data):
                raise WireError("truncated fixed64 field %d" % field)
            value = int.from_bytes(data[pos:pos + 8], "little")
            pos += 8
        elif wire_type == WIRE_FIXED32:
            if pos + 4 > len(data):
                raise WireError("truncated fixed32 field %d" % field)
            value = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        else:
            raise WireError("unsupported wire type %d (field %d)" % (wire_type, field))
        fields.append((field, wire_type, value))
    return fields


def last_varint(fields, number, default=0):
    value = default
    for field, wire_type, v in fields:
        if field == number and wire_type == WIRE_VARINT:
            value = v
    return value


def all_len(fields, number):
    return [v for field, wire_type, v in fields if field == number and wire_type == WIRE_LEN]


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

def encode_health_check_request(service=""):
    # HealthCheckRequest { string service = 1; }: proto3 omits the empty string.
    return encode_string_field(1, service) if service else b""


def decode_health_check_response(data):
    # HealthCheckResponse { ServingStatus status = 1; }
    return last_varint(decode_fields(data), 1)


def encode_list_services_request():
    # ServerReflectionRequest { string host = 1; oneof message_request { ... string
    # list_services = 7; } }: the field must be present (even empty) to select the oneof member.
    return encode_string_field(7, "")


def decode_reflection_response(data):
    """ServerReflectionResponse: list_services_response = 6 (ListServiceResponse { repeated
    ServiceResponse service = 1; }, ServiceResponse { string name = 1; }), error_response = 7
    (ErrorResponse { int32 error_code = 1; string error_message = 2; }).
    Returns the service names; raises CheckFailed on an error response."""
    fields = decode_fields(data)
    errors = all_len(fields, 7)
    if errors:
        err = decode_fields(errors[-1])
        messages = all_len(err, 2)
        raise CheckFailed("reflection returned error_response: code %d: %s" % (
            last_varint(err, 1), messages[-1].decode("utf-8", "replace") if messages else ""))
    lists = all_len(fields, 6)
    if not lists:
        raise CheckFailed("reflection response has no list_services_response (field 6); fields "
                          "present: %s" % sorted({f for f, _, _ in fields}))
    names = []
    for list_bytes in lists:
        for service_bytes in all_len(decode_fields(list_bytes), 1):
            for name in all_len(decode_fields(service_bytes), 1):
                names.append(name.decode("utf-8"))
    return names


# --------------------------------------------------------------------------------------------
# The check against a server
# --------------------------------------------------------------------------------------------

def check_health(grpc, channel):
    call = channel.unary_unary(HEALTH_CHECK, request_serializer=None, response_deserializer=None)
    deadline = time.monotonic() + STARTUP_WAIT_SECONDS
    last = "no attempt"
    while True:
        try:
            response = call(encode_health_check_request(""), timeout=CALL_TIMEOUT_SECONDS)
            status = decode_health_check_response(response)
            if status == SERVING:
                print("health: SERVING")
                return
            last = "status %s" % SERVING_STATUS.get(status, str(status))
            if status != 2:  # only NOT_SERVING may still change while the server starts
                raise CheckFailed("health check for service \"\" returned %s, want SERVING" % last)
        except grpc.RpcError as e:
            code = e.code()
            last = "%s: %s" % (code.name if code else "?", e.details())
            if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise CheckFailed("health check failed: %s" % last)
        except WireError as e:
            raise CheckFailed("health check response is not a HealthCheckResponse: %s" % e)
        if time.monotonic() >= deadline:
            raise CheckFailed("server not SERVING after %.0f s (last: %s)"
                              % (STARTUP_WAIT_SECONDS, last))
        time.sleep(0.5)


def list_services(grpc, channel):
    for method in REFLECTION_METHODS:
        call = channel.stream_stream(method, request_serializer=None, response_deserializer=None)
        try:
            responses = call(iter([encode_list_services_request()]),
                             timeout=CALL_TIMEOUT_SECONDS)
            for response in responses:
                try:
                    return decode_reflection_response(response)
                except WireError as e:
                    raise CheckFailed("%s: undecodable response: %s" % (method, e))
            raise CheckFailed("%s: stream ended without a response" % method)
        except grpc.RpcError as e:
            code = e.code()
            if code == grpc.StatusCode.UNIMPLEMENTED and method != REFLECTION_METHODS[-1]:
                print("note: %s is UNIMPLEMENTED, trying %s" % (method, REFLECTION_METHODS[-1]))
                continue
            raise CheckFailed("server reflection %s failed: %s: %s"
                              % (method, code.name if code else "?", e.details()))
    raise CheckFailed("no server reflection service")  # not reached


def run(target):
    try:
        import grpc
    except ImportError:
        raise CheckFailed("cannot import grpc in %s; run this with /usr/bin/python3 (Debian's "
                          "python3-grpcio) rather than a pyenv/virtualenv python" % sys.executable)
    channel = grpc.insecure_channel(target)
    try:
        check_health(grpc, channel)
        services = list_services(grpc, channel)
    finally:
        channel.close()
    print("services listed by reflection:")
    for name in sorted(services):
        print("  " + name)
    missing = [s for s in REQUIRED_SERVICES if s not in services]
    if missing:
        raise CheckFailed("reflection does not list: %s" % ", ".join(missing))


# --------------------------------------------------------------------------------------------
# Self-test of the codec on hand-made bytes
# --------------------------------------------------------------------------------------------

def self_test():
    # Varints, including the multi-byte and negative cases.
    for value, wire in ((0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"),
                        (300, b"\xac\x02"), (-1, b"\xff" * 9 + b"\x01")):
        assert encode_varint(value) == wire, (value, encode_varint(value))
        decoded, pos = decode_varint(wire, 0)
        assert pos == len(wire) and decoded == (value if value >= 0 else value + (1 << 64))

    # Requests.
    assert encode_health_check_request("") == b""
    assert encode_health_check_request("gridline.v1.ReportService") == \
        b"\x0a\x19gridline.v1.ReportService"
    assert encode_list_services_request() == b"\x3a\x00"

    # Health responses: SERVING; proto3 omits UNKNOWN (0); NOT_SERVING.
    assert decode_health_check_response(b"\x08\x01") == SERVING
    assert decode_health_check_response(b"") == 0
    assert decode_health_check_response(b"\x08\x02") == 2

    # A reflection response written out by hand: valid_host "" (1), original_request (2) echoing
    # list_services, then list_services_response (6) with two services.
    s1 = b"\x0a\x04" + b"\x0a\x02ab"          # ServiceResponse{name: "ab"}
    s2 = b"\x0a\x05" + b"\x0a\x03xyz"         # ServiceResponse{name: "xyz"}
    lst = s1 + s2                              # ListServiceResponse, 11 bytes
    response = b"\x0a\x00" + b"\x12\x02\x3a\x00" + b"\x32" + bytes([len(lst)]) + lst
    assert decode_reflection_response(response) == ["ab", "xyz"]

    # The same built with the encoder, with names long enough for multi-byte lengths, plus an
    # unknown fixed32, fixed64 and varint field that the decoder must skip.
    names = ["gridline.v1.ReportService", "grpc.health.v1.Health",
             "x." + "LongName" * 40] + list(REQUIRED_SERVICES[1:])
    lst = b"".join(encode_string_field(1, encode_string_field(1, n)) for n in names)
    response = (encode_tag(99, WIRE_FIXED32) + b"\x01\x02\x03\x04"
                + encode_tag(98, WIRE_FIXED64) + b"\x00" * 8
                + encode_varint_field(97, 123456789)
                + encode_string_field(6, lst))
    assert len(encode_string_field(6, lst)) > 130
    assert decode_reflection_response(response) == names

    # Error response.
    err = encode_varint_field(1, 12) + encode_string_field(2, "not implemented")
    try:
        decode_reflection_response(encode_string_field(7, err))
        raise AssertionError("error_response not reported")
    except CheckFailed as e:
        assert "code 12" in str(e) and "not implemented" in str(e), e

    # Malformed input.
    for bad in (b"\x0a\x05ab", b"\x08", b"\x08\x80", b"\x0b", b"\x00\x00"):
        try:
            decode_fields(bad)
            raise AssertionError("accepted malformed %r" % bad)
        except WireError:
            pass
    print("python client self-test: OK")


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        self_test()
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: %s HOST:PORT | --self-test" % argv[0], file=sys.stderr)
        return 2
    try:
        run(argv[1])
    except CheckFailed as e:
        print("python client check: FAILED: %s" % e, file=sys.stderr)
        return 1
    print("python client check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
