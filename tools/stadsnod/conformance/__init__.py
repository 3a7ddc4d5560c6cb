"""The conformance kit (vendors): the device guideline profile's requirement catalogue, the
vendor declaration, the lab a vendor loads into a device, and the checker that runs against
it (`stadsnod conformance lab|run`)."""
