#!/usr/bin/env bash
# Formats every Swift file by .swift-format (what scripts/test.sh lints).
set -euo pipefail
cd "$(dirname "$0")/.."
swift format --in-place --recursive --parallel Sources Tests Package.swift
