"""The clinic: ECG diagnoses by a provider's private model, proven as a zkMIPS guest
(guests/ecg). ``ecg_format`` holds the formats and the fixed-point reference."""
