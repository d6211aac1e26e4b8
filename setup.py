"""Packaging for postal: a self-hosted mail delivery platform, Postal-compatible."""

from setuptools import find_packages, setup


with open("postal/VERSION") as version_file:
    VERSION = version_file.read().strip()

install_requires = [
    "pyramid>=2.0",
    # Pyramid imports pkg_resources, which setuptools 81+ is removing.
    "setuptools>=68,<81",
    "waitress>=3.0",
    "pluggy>=1.5",
    "SQLAlchemy>=2.0.25",
    "zope.sqlalchemy>=3.1",
    "transaction>=4.0",
    "pyramid_tm>=2.5",
    "pyramid_retry>=2.1",
    "pyramid_services>=2.2",
    "pyramid_jinja2>=2.10",
    "alembic>=1.13",
    "aiosmtpd>=1.4.4",
    "dkimpy>=1.1.5",
    "dnspython>=2.4",
    "cryptography>=42",
    "bcrypt>=4.0",
    "click>=8.1",
    "psycopg[binary]>=3.1",
    "PyMySQL>=1.1",
    "PyNaCl>=1.5",
    "prometheus_client>=0.19",
]

tests_require = [
    "pytest>=8.0",
    # Many tests wait on sockets and subprocesses; four workers keep the suite short.
    "pytest-xdist>=3.5",
    "WebTest>=3.0",
    "openapi-spec-validator>=0.7",
    "ruff>=0.6",
    # The PyPI Postal client, to test API v1 compatibility with a real client.
    "postal-py>=0.0.5",
    "playwright>=1.40",
    "oidc-provider-mock>=0.3.4",
    # Hostile-input tests: SMTP/MIME/API v1 fuzzing and the OpenAPI-driven v2 fuzzer.
    "hypothesis>=6.100",
    "schemathesis>=4.0",
]

setup(
    name="postal",
    version=VERSION,
    description="Self-hosted mail delivery platform for transactional e-mail, Postal-compatible",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(exclude=["tests", "tests.*", "bench"]),
    include_package_data=True,
    package_data={"postal": ["VERSION", "api/v2/openapi.json"]},
    zip_safe=False,
    install_requires=install_requires,
    extras_require={"test": tests_require},
    entry_points={
        "paste.app_factory": ["main = postal:main"],
        "console_scripts": ["postal = postal.cli:main"],
        # Built-in features register exactly as a third-party package would.
        "postal.plugins": [
            "api_tokens = plugins.api_tokens",
            "local_auth = plugins.local_auth",
            "oidc = plugins.oidc",
            "dns_checks = plugins.dns_checks",
            "credentials = plugins.credentials",
            "smtp_routing = plugins.smtp_routing",
            "mx_delivery = plugins.mx_delivery",
            "dns_monitor = plugins.dns_monitor",
            "retention = plugins.retention",
            "scheduler = plugins.scheduler",
            "dkim = plugins.dkim",
            "webhooks = plugins.webhooks",
            "tracking = plugins.tracking",
            "bounces = plugins.bounces",
            "held_messages = plugins.held_messages",
            "smtp_endpoint = plugins.endpoints.smtp",
            "address_endpoint = plugins.endpoints.address",
            "http_endpoint = plugins.endpoints.http",
            "spamassassin = plugins.spamassassin",
            "clamav = plugins.clamav",
        ],
    },
)
