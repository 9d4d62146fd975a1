# Generates the SealedSecrets test fixtures of this folder (run once with Python `cryptography`;
# the outputs are committed). key.pem is a throwaway test key: it protects nothing.
import datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec

def cert(key, sign_key, not_before, not_after, cn):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    return b.sign(sign_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

utc = datetime.timezone.utc
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
open("key.pem", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open("cert.pem", "wb").write(cert(key, key, datetime.datetime(2026, 1, 1, tzinfo=utc), datetime.datetime(2036, 1, 1, tzinfo=utc), "sealed-secret"))
open("expired-cert.pem", "wb").write(cert(key, key, datetime.datetime(2015, 1, 1, tzinfo=utc), datetime.datetime(2020, 1, 1, 12, 0, 0, tzinfo=utc), "sealed-secret"))
big = rsa.generate_private_key(public_exponent=65537, key_size=4096)
open("cert-4096.pem", "wb").write(cert(big, big, datetime.datetime(2026, 1, 1, tzinfo=utc), datetime.datetime(2036, 1, 1, tzinfo=utc), "sealed-secret"))
eck = ec.generate_private_key(ec.SECP256R1())
open("ec-cert.pem", "wb").write(cert(eck, eck, datetime.datetime(2026, 1, 1, tzinfo=utc), datetime.datetime(2036, 1, 1, tzinfo=utc), "sealed-secret"))
